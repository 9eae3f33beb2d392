package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.google.gson.Gson;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.train.data.Batch;
import io.github.sgm4j.train.data.CachedLatents;
import io.github.sgm4j.train.data.Dataset;
import io.github.sgm4j.train.data.Loader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * {@code sgm4j encode-dataset}: one pass over a data set through a {@link DiffusionEngine}'s frozen
 * {@link AutoencoderKL} first stage, storing every image's posterior mean and standard deviation
 * ({@link CachedLatents}) and the data set's other keys in {@code latents-NNNNN.safetensors} shards.
 * Training from the cache ({@code data: target: sgm4j.data.CachedLatents}) draws the latents per step
 * ({@link DiffusionEngine#sampleCachedLatents}) and skips the encoder.
 *
 * <p>The images are read in the data set's natural order (no shuffling; random crops and flips of
 * the data config are applied once, as decoded here), every one of them: there is no incomplete
 * last batch to drop.
 */
public final class LatentCache {

    /**
     * What was written.
     *
     * @param count images encoded
     * @param shards shard files written
     * @param latentShape the shape of one latent, {@code [C, h, w]}
     * @param latentStd the standard deviation of the (unscaled) posterior samples over every element:
     *     {@code sqrt(E[mean^2 + std^2] - E[mean]^2)}
     * @param skippedFiles bad files skipped ({@code skip_bad_files})
     */
    public record Result(long count, int shards, long[] latentShape, double latentStd, long skippedFiles) {
        /**
         * The {@code scale_factor} that gives the latents unit standard deviation.
         *
         * @return {@code 1 / latentStd}
         */
        public double suggestedScaleFactor() {
            return 1.0 / latentStd;
        }
    }

    private LatentCache() {}

    /**
     * Encodes every image of {@code data} and writes the shards into {@code outDir} (created;
     * existing shards are replaced, each written to a temporary file first).
     *
     * @param engine the engine whose first stage encodes ({@code input_key} gives the image key)
     * @param data the data set
     * @param loaderOptions decoding threads, prefetch and the bad-file policy (batch size and shuffling
     *     are ignored)
     * @param batchSize images encoded at a time
     * @param shardSize images per shard file (a shard closes at the first batch boundary at or past it)
     * @param outDir the output directory
     * @param progress receives the number of images done after each batch, or null
     * @return what was written
     * @throws IllegalArgumentException when the first stage is not an {@link AutoencoderKL} or the data
     *     lacks the image key
     * @throws UncheckedIOException when a shard cannot be written
     */
    public static Result write(DiffusionEngine engine, Dataset data, Loader.Options loaderOptions, int batchSize,
            int shardSize, Path outDir, LongConsumer progress) {
        if (!(engine.getFirstStageModel() instanceof AutoencoderKL vae)) {
            throw new IllegalArgumentException("encode-dataset needs a KL autoencoder first stage, got "
                    + engine.getFirstStageModel().getClass().getSimpleName());
        }
        if (batchSize < 1 || shardSize < 1) {
            throw new IllegalArgumentException("batch and shard sizes must be >= 1, got " + batchSize + " and " + shardSize);
        }
        String key = engine.getParams().inputKey();
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + outDir + ": " + e.getMessage(), e);
        }
        Loader.Options one = new Loader.Options(1, loaderOptions.numWorkers(), Math.max(batchSize, loaderOptions.prefetch()),
                false, loaderOptions.skipBadFiles());
        NDManager m = engine.getManager();
        long count = 0;
        int shards = 0;
        double sum = 0;
        double sumSq = 0;
        long elements = 0;
        long[] shape = null;
        try (Loader loader = new Loader(data, one, 0L); NDManager work = m.newSubManager();
                GradMode ignored = GradMode.disabled()) {
            ShardWriter shard = new ShardWriter(outDir, work);
            boolean done = false;
            while (!done) {
                List<Batch> items = new ArrayList<>();
                while (items.size() < batchSize) {
                    Batch b = loader.next();
                    if (b.start().epoch() > 0) {
                        done = true;
                        break;
                    }
                    items.add(b);
                }
                if (items.isEmpty()) {
                    break;
                }
                try (NDScope scope = new NDScope()) {
                    Map<String, NDArray> arrays = stack(items, m);
                    NDArray x = arrays.remove(key);
                    if (x == null) {
                        throw new IllegalArgumentException(data.description() + " gives no '" + key + "' images (input_key);"
                                + " keys " + items.get(0).keys());
                    }
                    try (DiagonalGaussianDistribution post = vae.posterior(x)) {
                        NDArray mean = post.getMean();
                        NDArray std = post.getStd();
                        try (NDArray sq = mean.square(); NDArray var = std.square(); NDArray all = sq.add(var);
                                NDArray s1 = mean.sum(); NDArray s2 = all.sum()) {
                            sum += s1.getFloat();
                            sumSq += s2.getFloat();
                        }
                        elements += mean.size();
                        shape = mean.getShape().slice(1).getShape();
                        Map<String, List<String>> texts = new LinkedHashMap<>();
                        for (String k : items.get(0).keys()) {
                            if (items.get(0).isText(k)) {
                                List<String> t = new ArrayList<>();
                                items.forEach(b -> t.addAll(b.texts(k)));
                                texts.put(k, t);
                            }
                        }
                        shard.add(mean, std, arrays, texts, items.size());
                    }
                    scope.suppressNotUsedWarning();
                }
                count += items.size();
                if (shard.rows >= shardSize) {
                    shard.flush(shards++);
                }
                if (progress != null) {
                    progress.accept(count);
                }
            }
            if (shard.rows > 0) {
                shard.flush(shards++);
            }
            if (count == 0) {
                throw new IllegalArgumentException(data.description() + " gave no image to encode");
            }
            double mu = sum / elements;
            double std = Math.sqrt(Math.max(0, sumSq / elements - mu * mu));
            return new Result(count, shards, shape, std, loader.skippedFiles());
        }
    }

    private static Map<String, NDArray> stack(List<Batch> items, NDManager m) {
        Map<String, List<NDArray>> parts = new LinkedHashMap<>();
        for (Batch b : items) {
            b.toArrays(m).forEach((k, v) -> parts.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        parts.forEach((k, v) -> out.put(k, v.size() == 1 ? v.get(0) : NDArrays.concat(new NDList(v), 0)));
        return out;
    }

    /** Gathers rows for one shard (arrays detached into its own manager) and writes it atomically. */
    private static final class ShardWriter {
        private final Path dir;
        private final NDManager parent;
        private NDManager store;
        private final Map<String, List<NDArray>> arrays = new LinkedHashMap<>();
        private final Map<String, List<String>> texts = new LinkedHashMap<>();
        private int rows;

        ShardWriter(Path dir, NDManager parent) {
            this.dir = dir;
            this.parent = parent;
            this.store = parent.newSubManager();
        }

        void add(NDArray mean, NDArray std, Map<String, NDArray> others, Map<String, List<String>> text, int n) {
            keep(CachedLatents.MEAN, mean);
            keep(CachedLatents.STD, std);
            others.forEach(this::keep);
            text.forEach((k, v) -> texts.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
            rows += n;
        }

        private void keep(String key, NDArray a) {
            NDArray copy = a.duplicate();
            copy.attach(store);
            NDScope.unregister(copy);
            arrays.computeIfAbsent(key, x -> new ArrayList<>()).add(copy);
        }

        void flush(int index) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            arrays.forEach((k, v) -> tensors.put(k, NDArrays.concat(new NDList(v), 0)));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "sgm4j-latents");
            Gson gson = new Gson();
            texts.forEach((k, v) -> meta.put(CachedLatents.TEXT_PREFIX + k, gson.toJson(v)));
            Path file = dir.resolve(String.format(Locale.ROOT, "latents-%05d.safetensors", index));
            Path tmp = null;
            try {
                tmp = SafeTensors.writeTemp(file, tensors, meta);
                SafeTensors.moveIntoPlace(tmp, file);
                tmp = null;
            } finally {
                SafeTensors.deleteQuietly(tmp);
                tensors.values().forEach(NDArray::close);
            }
            store.close();
            store = parent.newSubManager();
            arrays.clear();
            texts.clear();
            rows = 0;
        }
    }
}
