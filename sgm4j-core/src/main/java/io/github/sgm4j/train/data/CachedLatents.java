package io.github.sgm4j.train.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A data set of first-stage latents cached by {@code sgm4j encode-dataset}: the posterior mean and
 * standard deviation of every image ({@value #MEAN}, {@value #STD}, {@code (C, h, w)} each) and the
 * data set's other keys (labels, vectors, captions), read from the {@code latents-NNNNN.safetensors}
 * shards of a directory. A {@code DiffusionEngine} that finds these two keys in a batch draws the
 * latent {@code mean + std * randn} with the step's noise, exactly as encoding the images would (the
 * same draw in the same order), and skips its first stage.
 *
 * <p>The shards are read into memory once; epochs are shuffled like {@link MnistData} (a
 * permutation of {@code (seed, epoch)}). No augmentation: a flip or crop would have to be applied to
 * the images before encoding.
 */
public final class CachedLatents implements Dataset {

    /** Batch key of the posterior means. */
    public static final String MEAN = "latent_mean";
    /** Batch key of the posterior standard deviations. */
    public static final String STD = "latent_std";
    /** Metadata prefix of a text key's values (a JSON array of strings). */
    public static final String TEXT_PREFIX = "text.";

    private final Path root;
    private final int count;
    private final Shape latent;
    private final float[] mean;
    private final float[] std;
    private final Map<String, long[]> labels = new LinkedHashMap<>();
    private final Map<String, float[]> vectors = new LinkedHashMap<>();
    private final Map<String, Integer> vectorLength = new LinkedHashMap<>();
    private final Map<String, List<String>> texts = new LinkedHashMap<>();

    /**
     * Reads every shard of {@code root}.
     *
     * @param root the directory {@code encode-dataset} wrote
     * @throws DataException when the directory has no shards, a shard lacks a key or disagrees with
     *     the first in keys or shapes (naming the file)
     */
    public CachedLatents(Path root) {
        this.root = root;
        List<Path> shards;
        try (Stream<Path> s = Files.list(root)) {
            shards = s.filter(p -> p.getFileName().toString().matches("latents-\\d+\\.safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new DataException("cannot list the latent cache " + root + ": " + e.getMessage(), e);
        }
        if (shards.isEmpty()) {
            throw new DataException(root + " holds no latents-NNNNN.safetensors shards: write them with"
                    + " `sgm4j encode-dataset CONFIG --out " + root + "`");
        }
        List<float[]> means = new ArrayList<>();
        List<float[]> stds = new ArrayList<>();
        Map<String, List<long[]>> lab = new LinkedHashMap<>();
        Map<String, List<float[]>> vec = new LinkedHashMap<>();
        Shape first = null;
        int n = 0;
        Gson gson = new Gson();
        try (NDManager m = NDManager.newBaseManager()) {
            for (Path shard : shards) {
                try (SafeTensorsFile f = SafeTensors.open(shard); NDManager sm = m.newSubManager()) {
                    if (!f.contains(MEAN) || !f.contains(STD)) {
                        throw new DataException(shard + ": no '" + MEAN + "' / '" + STD + "' tensors (keys " + f.keys() + ")");
                    }
                    NDArray mu = f.load(MEAN, sm, DataType.FLOAT32);
                    NDArray sd = f.load(STD, sm, DataType.FLOAT32);
                    Shape s = mu.getShape();
                    if (s.dimension() != 4 || !s.equals(sd.getShape())) {
                        throw new DataException(shard + ": '" + MEAN + "' " + s + " and '" + STD + "' " + sd.getShape()
                                + " must be equal (N, C, h, w) shapes");
                    }
                    Shape item = s.slice(1);
                    if (first == null) {
                        first = item;
                    } else if (!first.equals(item)) {
                        throw new DataException(shard + ": latents " + item + " differ from " + first + " of " + shards.get(0));
                    }
                    int rows = (int) s.get(0);
                    n += rows;
                    means.add(mu.toFloatArray());
                    stds.add(sd.toFloatArray());
                    for (String key : f.keys()) {
                        if (key.equals(MEAN) || key.equals(STD)) {
                            continue;
                        }
                        NDArray a = f.load(key, sm);
                        if (a.getShape().get(0) != rows) {
                            throw new DataException(shard + ": '" + key + "' has " + a.getShape() + ", expected " + rows
                                    + " rows");
                        }
                        if (a.getDataType() == DataType.INT64) {
                            lab.computeIfAbsent(key, k -> new ArrayList<>()).add(a.toLongArray());
                        } else {
                            NDArray v = a.toType(DataType.FLOAT32, false);
                            vectorLength.put(key, (int) (v.size() / rows));
                            vec.computeIfAbsent(key, k -> new ArrayList<>()).add(v.toFloatArray());
                        }
                    }
                    for (Map.Entry<String, String> e : f.metadata().entrySet()) {
                        if (e.getKey().startsWith(TEXT_PREFIX)) {
                            String[] t = gson.fromJson(e.getValue(), String[].class);
                            if (t == null || t.length != rows) {
                                throw new DataException(shard + ": metadata '" + e.getKey() + "' must be a JSON array of "
                                        + rows + " strings");
                            }
                            texts.computeIfAbsent(e.getKey().substring(TEXT_PREFIX.length()), k -> new ArrayList<>())
                                    .addAll(List.of(t));
                        }
                    }
                }
            }
        }
        this.count = n;
        this.latent = first;
        this.mean = concat(means);
        this.std = concat(stds);
        lab.forEach((k, v) -> labels.put(k, concatLong(v)));
        vec.forEach((k, v) -> vectors.put(k, concat(v)));
        for (Map.Entry<String, long[]> e : labels.entrySet()) {
            requireRows(e.getKey(), e.getValue().length);
        }
        for (Map.Entry<String, float[]> e : vectors.entrySet()) {
            requireRows(e.getKey(), e.getValue().length / vectorLength.get(e.getKey()));
        }
        for (Map.Entry<String, List<String>> e : texts.entrySet()) {
            requireRows(e.getKey(), e.getValue().size());
        }
    }

    private void requireRows(String key, int rows) {
        if (rows != count) {
            throw new DataException(root + ": '" + key + "' has " + rows + " rows over the shards, the latents " + count
                    + " (a shard lacks the key)");
        }
    }

    /**
     * The shape of one latent.
     *
     * @return {@code (C, h, w)}
     */
    public Shape latentShape() {
        return latent;
    }

    @Override
    public String description() {
        return "cached latents " + root + " (" + count + " x " + latent + ")";
    }

    @Override
    public long size() {
        return count;
    }

    @Override
    public List<String> keys() {
        List<String> k = new ArrayList<>(List.of(MEAN, STD));
        k.addAll(labels.keySet());
        k.addAll(vectors.keySet());
        k.addAll(texts.keySet());
        return k;
    }

    @Override
    public ItemStream open(long epoch, long seed, boolean shuffle) {
        int[] order = shuffle ? MnistDataset.permutation(count, seed, epoch) : null;
        return ItemStream.ofIndices(count, order, this::item);
    }

    private Item item(int i) {
        String name = root + "[" + i + "]";
        return new Item() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Sample decode(SeededRandom rng) {
                int c = (int) latent.get(0);
                int h = (int) latent.get(1);
                int w = (int) latent.get(2);
                int per = c * h * w;
                float[] mu = new float[per];
                float[] sd = new float[per];
                System.arraycopy(mean, i * per, mu, 0, per);
                System.arraycopy(std, i * per, sd, 0, per);
                Sample s = new Sample(name).image(MEAN, new Sample.Image(c, h, w, mu)).image(STD, new Sample.Image(c, h, w, sd));
                labels.forEach((k, v) -> s.label(k, v[i]));
                vectors.forEach((k, v) -> {
                    int len = vectorLength.get(k);
                    float[] out = new float[len];
                    System.arraycopy(v, i * len, out, 0, len);
                    s.vector(k, out);
                });
                texts.forEach((k, v) -> s.text(k, v.get(i)));
                return s;
            }
        };
    }

    private static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int off = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, off, a.length);
            off += a.length;
        }
        return out;
    }

    private static long[] concatLong(List<long[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        long[] out = new long[n];
        int off = 0;
        for (long[] a : parts) {
            System.arraycopy(a, 0, out, off, a.length);
            off += a.length;
        }
        return out;
    }
}
