package io.github.sgm4j.train.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Samples stacked per key, still as Java arrays: images {@code (B, C, H, W)} float32, labels
 * {@code (B)} int64, vectors {@code (B, len)} float32 and texts as a list of strings. {@link
 * #toArrays} makes the NDArrays (through {@link Tensors}) in the manager the caller chooses, so the
 * decoding threads never touch the engine.
 */
public final class Batch {

    private final int size;
    private final Map<String, Object> values;
    private final Map<String, Shape> shapes;
    private final List<String> sources;
    private final Position start;
    private final Position end;

    private Batch(int size, Map<String, Object> values, Map<String, Shape> shapes, List<String> sources,
            Position start, Position end) {
        this.size = size;
        this.values = values;
        this.shapes = shapes;
        this.sources = sources;
        this.start = start;
        this.end = end;
    }

    /**
     * Stacks samples that all have the same keys, value kinds and shapes.
     *
     * @param samples the samples, at least one
     * @param start the loader position of the first item read for this batch
     * @param end the loader position after the last item read for this batch
     * @return the batch
     * @throws DataException when the samples disagree in keys, kinds or shapes (naming both files)
     */
    public static Batch collate(List<Sample> samples, Position start, Position end) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("cannot collate an empty list of samples");
        }
        Sample first = samples.get(0);
        int n = samples.size();
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        List<String> sources = new ArrayList<>(n);
        for (Sample s : samples) {
            sources.add(s.source());
            if (!s.keys().equals(first.keys())) {
                throw new DataException(s.source() + ": keys " + s.keys() + " differ from " + first.keys() + " of "
                        + first.source());
            }
        }
        for (String key : first.keys()) {
            Object v0 = first.get(key);
            if (v0 instanceof Sample.Image im) {
                int per = im.data().length;
                float[] out = new float[n * per];
                for (int b = 0; b < n; b++) {
                    Sample.Image x = as(samples.get(b), key, Sample.Image.class, first);
                    if (x.channels() != im.channels() || x.height() != im.height() || x.width() != im.width()) {
                        throw new DataException(samples.get(b).source() + ": '" + key + "' is " + x.channels() + "x"
                                + x.height() + "x" + x.width() + " but " + first.source() + " gave " + im.channels()
                                + "x" + im.height() + "x" + im.width());
                    }
                    System.arraycopy(x.data(), 0, out, b * per, per);
                }
                values.put(key, out);
                shapes.put(key, new Shape(n, im.channels(), im.height(), im.width()));
            } else if (v0 instanceof Long) {
                long[] out = new long[n];
                for (int b = 0; b < n; b++) {
                    out[b] = as(samples.get(b), key, Long.class, first);
                }
                values.put(key, out);
                shapes.put(key, new Shape(n));
            } else if (v0 instanceof float[] vec) {
                float[] out = new float[n * vec.length];
                for (int b = 0; b < n; b++) {
                    float[] x = as(samples.get(b), key, float[].class, first);
                    if (x.length != vec.length) {
                        throw new DataException(samples.get(b).source() + ": '" + key + "' has " + x.length
                                + " values but " + first.source() + " gave " + vec.length);
                    }
                    System.arraycopy(x, 0, out, b * vec.length, vec.length);
                }
                values.put(key, out);
                shapes.put(key, new Shape(n, vec.length));
            } else if (v0 instanceof String) {
                List<String> out = new ArrayList<>(n);
                for (int b = 0; b < n; b++) {
                    out.add(as(samples.get(b), key, String.class, first));
                }
                values.put(key, Collections.unmodifiableList(out));
            } else {
                throw new IllegalArgumentException("'" + key + "': cannot stack values of type "
                        + (v0 == null ? "null" : v0.getClass().getSimpleName()));
            }
        }
        return new Batch(n, values, shapes, Collections.unmodifiableList(sources), start, end);
    }

    private static <T> T as(Sample s, String key, Class<T> type, Sample first) {
        Object v = s.get(key);
        if (!type.isInstance(v)) {
            throw new DataException(s.source() + ": '" + key + "' is a " + (v == null ? "null" : v.getClass().getSimpleName())
                    + " but " + first.source() + " gave a " + type.getSimpleName());
        }
        return type.cast(v);
    }

    /**
     * Number of samples B.
     *
     * @return the batch size
     */
    public int size() {
        return size;
    }

    /**
     * The keys, in the order of the samples.
     *
     * @return an unmodifiable view
     */
    public Set<String> keys() {
        return Collections.unmodifiableSet(values.keySet());
    }

    /**
     * The files (or shard members) of the samples, in batch order.
     *
     * @return an unmodifiable list of B names
     */
    public List<String> sources() {
        return sources;
    }

    /**
     * Where the loader was when this batch began.
     *
     * @return the position of the first item read for this batch
     */
    public Position start() {
        return start;
    }

    /**
     * Where the loader is after this batch: seeking there continues with the next batch.
     *
     * @return the position after the last item read for this batch
     */
    public Position end() {
        return end;
    }

    /**
     * Whether {@code key} holds texts (a list of strings rather than an array).
     *
     * @param key the key
     * @return true for text keys such as {@code txt}
     */
    public boolean isText(String key) {
        return values.get(key) instanceof List;
    }

    /**
     * The texts of a text key.
     *
     * @param key the key, e.g. {@code txt}
     * @return an unmodifiable list of B strings
     * @throws IllegalArgumentException when the key is absent or not a text key
     */
    @SuppressWarnings("unchecked")
    public List<String> texts(String key) {
        if (!isText(key)) {
            throw new IllegalArgumentException("'" + key + "' is not a text key of this batch; keys: " + keys());
        }
        return (List<String>) values.get(key);
    }

    /**
     * The shape an array key will have.
     *
     * @param key an image, label or vector key
     * @return {@code (B, C, H, W)}, {@code (B)} or {@code (B, len)}
     * @throws IllegalArgumentException when the key is absent or a text key
     */
    public Shape shape(String key) {
        Shape s = shapes.get(key);
        if (s == null) {
            throw new IllegalArgumentException("'" + key + "' is not an array key of this batch; keys: " + keys());
        }
        return s;
    }

    /**
     * A copy of a float key's values (images and vectors), row-major.
     *
     * @param key the key
     * @return a new array
     * @throws IllegalArgumentException when the key is absent or not a float key
     */
    public float[] floats(String key) {
        if (!(values.get(key) instanceof float[] f)) {
            throw new IllegalArgumentException("'" + key + "' is not a float key of this batch; keys: " + keys());
        }
        return f.clone();
    }

    /**
     * A copy of a label key's values.
     *
     * @param key the key, e.g. {@code cls}
     * @return a new array of B labels
     * @throws IllegalArgumentException when the key is absent or not a label key
     */
    public long[] longs(String key) {
        if (!(values.get(key) instanceof long[] l)) {
            throw new IllegalArgumentException("'" + key + "' is not a label key of this batch; keys: " + keys());
        }
        return l.clone();
    }

    /**
     * The array keys as NDArrays in {@code manager} (texts are left out: read them with {@link
     * #texts}): images float32 {@code (B, C, H, W)}, labels int64 {@code (B)}, vectors float32 {@code
     * (B, len)}.
     *
     * @param manager owns the new arrays (and gives their device)
     * @return a new map in key order
     */
    public Map<String, NDArray> toArrays(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            if (e.getValue() instanceof float[] f) {
                out.put(e.getKey(), Tensors.create(manager, f, shapes.get(e.getKey())));
            } else if (e.getValue() instanceof long[] l) {
                out.put(e.getKey(), Tensors.create(manager, l, shapes.get(e.getKey())));
            }
        }
        return out;
    }
}
