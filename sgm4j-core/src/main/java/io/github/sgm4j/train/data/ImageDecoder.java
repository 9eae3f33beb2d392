package io.github.sgm4j.train.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes PNG and JPEG bytes with {@code javax.imageio} into RGB floats in [0, 1], channels first.
 *
 * <p>Samples are taken as stored, like PIL's {@code convert("RGB")}: no colour management (an
 * embedded ICC profile is ignored), grayscale is repeated into the three channels, an alpha channel
 * is dropped (not composited), 16-bit samples are divided by 65535. Palette and packed-integer
 * images go through {@link BufferedImage#getRGB}. Any decoder warning (a truncated JPEG, corrupt
 * entropy data) makes the file bad: the JDK decoders otherwise return the truncated picture padded
 * with grey.
 */
public final class ImageDecoder {

    private ImageDecoder() {}

    /**
     * A decoded image.
     *
     * @param height H
     * @param width W
     * @param rgb {@code (3, H, W)} values in [0, 1]
     * @param converted what was converted to RGB: {@code null} when the file was RGB, else e.g.
     *     {@code "grayscale"}, {@code "RGBA"}, {@code "grayscale+alpha"}, {@code "palette"}
     */
    public record Decoded(int height, int width, float[] rgb, String converted) {}

    /**
     * Decodes an image file's bytes.
     *
     * @param bytes the file content
     * @param name the file name, for messages
     * @return the image
     * @throws DataException when no reader knows the format, or the image is corrupt or truncated
     */
    public static Decoded decode(byte[] bytes, String name) {
        BufferedImage img;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new DataException(name + ": not a readable image (no javax.imageio reader recognises its "
                        + bytes.length + " bytes)");
            }
            ImageReader reader = readers.next();
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            try {
                reader.setInput(in, true, true);
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
            if (!warnings.isEmpty()) {
                throw new DataException(name + ": corrupt or truncated image (" + String.join("; ", warnings) + ")");
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataException d) {
                throw d;
            }
            throw new DataException(name + ": corrupt or truncated image (" + e + ")", e);
        }
        return toRgb(img, name);
    }

    /**
     * An image's pixels as RGB floats in [0, 1] (see the class comment for the conversions).
     *
     * @param img the image
     * @param name the file name, for messages
     * @return the pixels
     * @throws DataException when the colour space is neither grey nor RGB (e.g. CMYK)
     */
    public static Decoded toRgb(BufferedImage img, String name) {
        int h = img.getHeight();
        int w = img.getWidth();
        int hw = h * w;
        float[] out = new float[3 * hw];
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int csType = cm.getColorSpace().getType();
        if (cm instanceof ComponentColorModel && (csType == ColorSpace.TYPE_GRAY || csType == ColorSpace.TYPE_RGB)) {
            int colour = cm.getNumColorComponents();
            int bands = r.getNumBands();
            int bits = cm.getComponentSize(0);
            float max = (float) ((1L << bits) - 1);
            if (r.getSampleModel() instanceof PixelInterleavedSampleModel sm && r.getDataBuffer() instanceof DataBufferByte db
                    && db.getNumBanks() == 1 && bits == 8) {
                byte[] data = db.getData();
                int[] offs = sm.getBandOffsets();
                int ps = sm.getPixelStride();
                int ss = sm.getScanlineStride();
                int base = db.getOffset() - r.getSampleModelTranslateY() * ss - r.getSampleModelTranslateX() * ps;
                for (int c = 0; c < 3; c++) {
                    int off = offs[colour == 1 ? 0 : c];
                    int o = c * hw;
                    for (int y = 0; y < h; y++) {
                        int p = base + y * ss + off;
                        for (int x = 0; x < w; x++, p += ps) {
                            out[o++] = (data[p] & 0xff) / 255.0f;
                        }
                    }
                }
            } else {
                int[] px = r.getPixels(0, 0, w, h, (int[]) null);
                for (int c = 0; c < 3; c++) {
                    int band = colour == 1 ? 0 : c;
                    int o = c * hw;
                    for (int i = 0; i < hw; i++) {
                        out[o + i] = px[i * bands + band] / max;
                    }
                }
            }
            String conv = colour == 1 ? (cm.hasAlpha() ? "grayscale+alpha" : "grayscale") : (cm.hasAlpha() ? "RGBA" : null);
            return new Decoded(h, w, out, conv);
        }
        if (csType != ColorSpace.TYPE_RGB && csType != ColorSpace.TYPE_GRAY) {
            throw new DataException(name + ": unsupported colour space (type " + csType + ", e.g. CMYK); convert it to RGB");
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < hw; i++) {
            int p = argb[i];
            out[i] = ((p >> 16) & 0xff) / 255.0f;
            out[hw + i] = ((p >> 8) & 0xff) / 255.0f;
            out[2 * hw + i] = (p & 0xff) / 255.0f;
        }
        String conv = cm instanceof java.awt.image.IndexColorModel ? "palette" : (cm.hasAlpha() ? "RGBA" : null);
        return new Decoded(h, w, out, conv);
    }
}
