package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.train.data.Batch;
import io.github.sgm4j.train.data.DataThroughput;
import io.github.sgm4j.train.data.ImageFolder;
import io.github.sgm4j.train.data.ImageTransform;
import io.github.sgm4j.train.data.Loader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code data-throughput}: decoded images per second through sgm4j's folder dataset ({@link
 * ImageFolder} + {@link Loader} with the default decoding threads and prefetch, shuffled) at training
 * size 256: JPEG decoding, resize of the shorter side to 256 (antialiased bicubic), random 256x256
 * crop, random horizontal flip, batching (16) and the copy into NDArrays. One timed run is one pass
 * over the folder (512 images, 32 batches). The folder holds 512 synthetic photograph-like 400x320
 * (width x height) JPEGs at quality 0.9 ({@link DataThroughput#writePhotoJpegs}, seed 0), written on
 * first use to {@code ${java.io.tmpdir}/sgm4j-bench-jpegs} (or the folder of the system property
 * {@value #DIR_PROPERTY}) and reused while its marker file matches. 1 warm-up pass and 3 timed.
 */
public class DataThroughputBench implements Workload {

    /** System property naming the JPEG folder (default {@code ${java.io.tmpdir}/sgm4j-bench-jpegs}). */
    public static final String DIR_PROPERTY = "sgm4j.bench.dataDir";

    private static final String MARKER = "sgm4j-bench-jpegs.txt";

    private final Path dir;
    private final int count;
    private final int width;
    private final int height;
    private final int size;
    private final int batchSize;
    private final int workers;
    private final int prefetch;
    private Loader loader;
    private NDManager manager;

    /** The benchmark's settings: 512 images of 400x320, size 256, batch 16, default threads and prefetch. */
    public DataThroughputBench() {
        this(defaultDir(), 512, 400, 320, 256, 16, Loader.Options.defaultWorkers(), 2);
    }

    /**
     * Other settings (tests use tiny ones).
     *
     * @param dir the JPEG folder (written when its marker does not match these settings)
     * @param count images in the folder, a multiple of {@code batchSize}
     * @param width image width
     * @param height image height
     * @param size training size (shorter side resized to it, then a random square crop)
     * @param batchSize images per batch
     * @param workers decoding threads (0: on the caller's thread)
     * @param prefetch batches decoded ahead
     * @throws IllegalArgumentException when {@code count} is not a positive multiple of {@code batchSize}
     */
    public DataThroughputBench(Path dir, int count, int width, int height, int size, int batchSize, int workers,
            int prefetch) {
        if (batchSize < 1 || count < batchSize || count % batchSize != 0) {
            throw new IllegalArgumentException("image count must be a positive multiple of the batch size, got "
                    + count + " and " + batchSize);
        }
        this.dir = dir;
        this.count = count;
        this.width = width;
        this.height = height;
        this.size = size;
        this.batchSize = batchSize;
        this.workers = workers;
        this.prefetch = prefetch;
    }

    /**
     * The default folder: the system property {@value #DIR_PROPERTY}, else {@code
     * ${java.io.tmpdir}/sgm4j-bench-jpegs}.
     *
     * @return the folder
     */
    public static Path defaultDir() {
        String p = System.getProperty(DIR_PROPERTY);
        return p != null ? Path.of(p) : Path.of(System.getProperty("java.io.tmpdir"), "sgm4j-bench-jpegs");
    }

    @Override
    public String name() {
        return "data-throughput";
    }

    /**
     * The JPEG folder read.
     *
     * @return the folder
     */
    public Path folder() {
        return dir;
    }

    @Override
    public void setUp(NDManager manager) {
        this.manager = manager;
        String marker = String.format(Locale.ROOT, "photo-jpegs count=%d width=%d height=%d quality=0.9 seed=0%n",
                count, width, height);
        Path markerFile = dir.resolve(MARKER);
        try {
            if (!Files.isRegularFile(markerFile)
                    || !Files.readString(markerFile, StandardCharsets.UTF_8).equals(marker)) {
                if (Files.isDirectory(dir)) {
                    try (var files = Files.list(dir)) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            if (f.getFileName().toString().startsWith("photo-")) {
                                Files.delete(f);
                            }
                        }
                    }
                }
                DataThroughput.writePhotoJpegs(dir, count, width, height, 0.9f, 0L);
                Files.writeString(markerFile, marker, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the benchmark JPEG folder " + dir + ": " + e.getMessage(), e);
        }
        System.err.println("data-throughput: JPEG folder " + dir);
        ImageFolder ds = new ImageFolder(new ImageFolder.Params(dir, new ImageTransform(size, true, true, false),
                ImageFolder.DEFAULT_EXTENSIONS, false, false));
        loader = new Loader(ds, new Loader.Options(batchSize, workers, prefetch, true, false), 0L);
    }

    @Override
    public void runOnce() {
        for (int i = 0; i < count / batchSize; i++) {
            Batch b = loader.next();
            b.toArrays(manager).values().forEach(a -> a.close());
        }
    }

    @Override
    public Map<String, Object> extras(double medianMs) {
        double seconds = medianMs / 1e3;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("images", count);
        out.put("images_per_s", count / seconds);
        out.put("batches_per_s", count / (double) batchSize / seconds);
        out.put("batch_size", batchSize);
        out.put("workers", workers);
        out.put("prefetch", prefetch);
        out.put("folder", dir.toString());
        return out;
    }

    @Override
    public void close() {
        if (loader != null) {
            loader.close();
        }
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 3;
    }
}
