package io.github.sgm4j.train.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * The {@code data-throughput} measurement: decoded images per second through an {@link
 * ImageFolder} and its {@link Loader} (JPEG decoding, resize, crop, flip, batch stacking), for the
 * CLI's benchmark. A plain helper: it times, it asserts nothing.
 */
public final class DataThroughput {

    /** Batches read before timing starts. */
    public static final int WARMUP_BATCHES = 4;

    private DataThroughput() {}

    /**
     * One measurement.
     *
     * @param images images delivered in the timed batches
     * @param seconds wall time of the timed batches
     * @param imagesPerSecond {@code images / seconds}
     * @param waitSeconds time the consumer spent waiting for data in the timed batches
     * @param workers decoding threads used
     * @param batchSize images per batch
     */
    public record Result(long images, double seconds, double imagesPerSecond, double waitSeconds, int workers,
            int batchSize) {
        /**
         * One line for logs and the benchmark output.
         *
         * @return e.g. {@code "data-throughput: 812.3 images/s (2048 images in 2.52 s, 1 workers, batch 16)"}
         */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "data-throughput: %.1f images/s (%d images in %.2f s, %d workers, batch %d)",
                    imagesPerSecond, images, seconds, workers, batchSize);
        }
    }

    /**
     * Writes {@code count} synthetic {@code side x side} RGB JPEGs (smooth gradients with seeded
     * noise, so the decoder does real work) into {@code dir} as {@code img-00000.jpg}, ...
     *
     * @param dir the folder (created)
     * @param count number of images
     * @param side width and height
     * @param seed noise seed
     * @return the files written
     * @throws UncheckedIOException when a file cannot be written
     */
    public static List<Path> writeJpegs(Path dir, int count, int side, long seed) {
        try {
            Files.createDirectories(dir);
            Path[] out = new Path[count];
            for (int n = 0; n < count; n++) {
                SeededRandom r = SeededRandom.of(seed, n);
                BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_3BYTE_BGR);
                int phase = r.nextInt(256);
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        int red = (x * 255 / side + phase) & 0xff;
                        int green = (y * 255 / side) & 0xff;
                        int blue = Math.min(255, ((x + y) * 128 / side + r.nextInt(32)));
                        img.setRGB(x, y, (red << 16) | (green << 8) | blue);
                    }
                }
                out[n] = dir.resolve(String.format(Locale.ROOT, "img-%05d.jpg", n));
                if (!ImageIO.write(img, "jpg", out[n].toFile())) {
                    throw new IOException("no JPEG writer");
                }
            }
            return List.of(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write test JPEGs to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code count} synthetic photograph-like RGB JPEGs of {@code width x height} into {@code
     * dir} as {@code photo-00000.jpg}, ... at the given JPEG quality: a vertical sky-to-ground
     * gradient, a dozen soft-edged ellipses of random colour, size and place (objects), low-frequency
     * shading and per-pixel grain of +-12 levels, so that the files have the edges, smooth areas and
     * noise of photographs and the decoder does representative work. Deterministic: the pixels depend
     * only on {@code seed} and the image index ({@link SeededRandom}); the bytes also on the JDK's
     * JPEG encoder.
     *
     * @param dir the folder (created)
     * @param count number of images, at least 1
     * @param width image width, at least 1
     * @param height image height, at least 1
     * @param quality JPEG quality in (0, 1], e.g. 0.9
     * @param seed the pixels' seed
     * @return the files written, in index order
     * @throws IllegalArgumentException when a value is out of range
     * @throws UncheckedIOException when a file cannot be written
     */
    public static List<Path> writePhotoJpegs(Path dir, int count, int width, int height, float quality, long seed) {
        if (count < 1 || width < 1 || height < 1 || !(quality > 0f && quality <= 1f)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "need count, width, height >= 1 and quality in (0, 1], got %d, %d, %d, %s", count, width, height,
                    quality));
        }
        try {
            Files.createDirectories(dir);
            Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpg");
            if (!writers.hasNext()) {
                throw new IOException("no JPEG writer");
            }
            ImageWriter writer = writers.next();
            try {
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(quality);
                Path[] out = new Path[count];
                for (int n = 0; n < count; n++) {
                    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
                    img.setRGB(0, 0, width, height, photoPixels(width, height, SeededRandom.of(seed, n)), 0, width);
                    out[n] = dir.resolve(String.format(Locale.ROOT, "photo-%05d.jpg", n));
                    try (ImageOutputStream ios = ImageIO.createImageOutputStream(out[n].toFile())) {
                        writer.setOutput(ios);
                        writer.write(null, new IIOImage(img, null, null), param);
                    }
                }
                return List.of(out);
            } finally {
                writer.dispose();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write test JPEGs to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static int[] photoPixels(int w, int h, SeededRandom r) {
        float[][] rgb = new float[3][w * h];
        int[] sky = {r.nextInt(120) + 100, r.nextInt(120) + 110, r.nextInt(80) + 170};
        int[] ground = {r.nextInt(120) + 40, r.nextInt(100) + 40, r.nextInt(60) + 20};
        int horizon = h / 3 + r.nextInt(h / 3 + 1);
        for (int y = 0; y < h; y++) {
            float t = y < horizon ? (float) y / Math.max(1, horizon) : (float) (y - horizon) / Math.max(1, h - horizon);
            int[] a = y < horizon ? sky : ground;
            for (int c = 0; c < 3; c++) {
                float v = y < horizon ? a[c] * (0.75f + 0.25f * t) : a[c] * (1.0f - 0.4f * t);
                Arrays.fill(rgb[c], y * w, (y + 1) * w, v);
            }
        }
        int objects = 8 + r.nextInt(8);
        for (int k = 0; k < objects; k++) {
            float cx = r.nextInt(w);
            float cy = r.nextInt(h);
            float rx = 8 + r.nextInt(Math.max(1, w / 4));
            float ry = 8 + r.nextInt(Math.max(1, h / 4));
            int[] col = {r.nextInt(256), r.nextInt(256), r.nextInt(256)};
            int x0 = Math.max(0, (int) (cx - rx - 2));
            int x1 = Math.min(w - 1, (int) (cx + rx + 2));
            int y0 = Math.max(0, (int) (cy - ry - 2));
            int y1 = Math.min(h - 1, (int) (cy + ry + 2));
            for (int y = y0; y <= y1; y++) {
                for (int x = x0; x <= x1; x++) {
                    float dx = (x - cx) / rx;
                    float dy = (y - cy) / ry;
                    float d = dx * dx + dy * dy;
                    // soft edge over the outer 10 %, shading darker towards the lower right
                    float alpha = d < 0.81f ? 1f : d < 1f ? (1f - d) / 0.19f : 0f;
                    float shade = 1.1f - 0.3f * (dx + dy + 2f) / 4f;
                    int i = y * w + x;
                    for (int c = 0; c < 3; c++) {
                        rgb[c][i] += alpha * (col[c] * shade - rgb[c][i]);
                    }
                }
            }
        }
        int[] px = new int[w * h];
        for (int i = 0; i < px.length; i++) {
            int grain = r.nextInt(25) - 12;
            int red = clamp255(rgb[0][i] + grain);
            int green = clamp255(rgb[1][i] + grain);
            int blue = clamp255(rgb[2][i] + grain);
            px[i] = (red << 16) | (green << 8) | blue;
        }
        return px;
    }

    private static int clamp255(float v) {
        return Math.max(0, Math.min(255, Math.round(v)));
    }

    /**
     * Times {@code batches} batches through an image folder at {@code size} (centre crop, flips on,
     * shuffled), after {@value #WARMUP_BATCHES} untimed warm-up batches (JIT, decoder start-up).
     *
     * @param folder the image folder
     * @param size the training size
     * @param batchSize images per batch
     * @param workers decoding threads ({@link Loader.Options#defaultWorkers()} for the default)
     * @param batches timed batches
     * @return the measurement
     */
    public static Result measure(Path folder, int size, int batchSize, int workers, int batches) {
        ImageFolder ds = new ImageFolder(new ImageFolder.Params(folder, new ImageTransform(size, false, true, false),
                ImageFolder.DEFAULT_EXTENSIONS, false, false));
        try (Loader loader = new Loader(ds, new Loader.Options(batchSize, workers, 2, true, false), 0L)) {
            for (int i = 0; i < WARMUP_BATCHES; i++) {
                loader.next();
            }
            long w0 = loader.waitNanos();
            long t0 = System.nanoTime();
            long images = 0;
            for (int i = 0; i < batches; i++) {
                images += loader.next().size();
            }
            double s = (System.nanoTime() - t0) / 1e9;
            double wait = (loader.waitNanos() - w0) / 1e9;
            return new Result(images, s, images / s, wait, workers, batchSize);
        }
    }
}
