package io.github.sgm4j.train.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

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
