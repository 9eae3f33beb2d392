package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Writes a batch of images in [-1, 1] as a PNG grid (like torchvision's {@code make_grid}) and reads a
 * PNG back as [-1, 1] floats. Stateless and thread-safe.
 */
public final class ImageGrid {

    private ImageGrid() {}

    /**
     * Writes {@code images} [B, C, H, W] (C 1 or 3, values in [-1, 1], clamped) as a grid with
     * {@code nrow} images per row and a 2-pixel border; images smaller than 64 pixels are enlarged
     * by an integer factor (nearest) so that small digits stay legible.
     *
     * @param images the batch [B, C, H, W]; read, not closed
     * @param nrow images per row (fewer when the batch is smaller)
     * @param file the PNG to write; see {@link #writePng(NDArray, int, Path, int)}
     * @throws IllegalArgumentException when {@code images} is not [B, 1 or 3, H, W]
     * @throws UncheckedIOException when the file cannot be written
     */
    public static void writePng(NDArray images, int nrow, Path file) {
        long side = images.getShape().get(2);
        writePng(images, nrow, file, (int) Math.max(1, 64 / Math.max(1, side)));
    }

    /**
     * As {@link #writePng(NDArray, int, Path)} with an explicit integer enlargement {@code scale}. The
     * PNG is written to a temporary sibling file, then moved into place atomically; missing parent
     * directories are created. Grayscale images are written as RGB with equal channels.
     *
     * @param images the batch [B, C, H, W] (C 1 or 3), any floating-point or integer type; read, not
     *     closed
     * @param nrow images per row (fewer when the batch is smaller)
     * @param file the PNG to write (replaced if it exists)
     * @param scale nearest-neighbour enlargement factor, at least 1
     * @throws IllegalArgumentException when {@code images} is not [B, 1 or 3, H, W]
     * @throws UncheckedIOException when the file cannot be written
     */
    public static void writePng(NDArray images, int nrow, Path file, int scale) {
        long[] s = images.getShape().getShape();
        if (s.length != 4 || (s[1] != 1 && s[1] != 3)) {
            throw new IllegalArgumentException("expected images [B, 1|3, H, W], got " + images.getShape());
        }
        int b = (int) s[0];
        int c = (int) s[1];
        int h0 = (int) s[2];
        int w0 = (int) s[3];
        int h = h0 * scale;
        int w = w0 * scale;
        float[] v = images.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        int cols = Math.min(nrow, b);
        int rows = (b + cols - 1) / cols;
        int pad = 2;
        BufferedImage img = new BufferedImage(cols * (w + pad) + pad, rows * (h + pad) + pad, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < b; i++) {
            int ox = pad + (i % cols) * (w + pad);
            int oy = pad + (i / cols) * (h + pad);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int[] rgb = new int[3];
                    for (int k = 0; k < 3; k++) {
                        int ch = c == 1 ? 0 : k;
                        float f = v[((i * c + ch) * h0 + y / scale) * w0 + x / scale];
                        float u = (Math.max(-1f, Math.min(1f, f)) + 1f) * 127.5f;
                        rgb[k] = Math.round(u);
                    }
                    img.setRGB(ox + x, oy + y, (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]);
                }
            }
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            ImageIO.write(img, "png", tmp.toFile());
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * Reads a PNG as [1, C, H, W] in [-1, 1] (C = 1 for grayscale, else 3; alpha is dropped). No
     * NDArray is created: the caller wraps the values in its own manager.
     *
     * @param file the image to read (any format {@link ImageIO} reads)
     * @param outShape receives {@code {C, H, W}}; at least 3 elements
     * @return a one-element array holding the C x H x W values, channel-major ({@code (c * H + y) * W +
     *     x})
     * @throws IllegalArgumentException when the file is not a readable image
     * @throws UncheckedIOException when the file cannot be read
     */
    public static float[][] readPng(Path file, int[] outShape) {
        try {
            BufferedImage img = ImageIO.read(file.toFile());
            if (img == null) {
                throw new IllegalArgumentException("not a readable image: " + file);
            }
            boolean gray = img.getColorModel().getNumColorComponents() == 1;
            int c = gray ? 1 : 3;
            int h = img.getHeight();
            int w = img.getWidth();
            float[] out = new float[c * h * w];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    int[] comp = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
                    for (int k = 0; k < c; k++) {
                        out[(k * h + y) * w + x] = comp[k] / 127.5f - 1f;
                    }
                }
            }
            outShape[0] = c;
            outShape[1] = h;
            outShape[2] = w;
            return new float[][] {out};
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
