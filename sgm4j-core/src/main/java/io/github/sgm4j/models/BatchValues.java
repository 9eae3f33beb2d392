package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain Java values to the batch arrays the conditioner and the loss read, for the high-level
 * {@link DiffusionEngine} calls. Per key:
 *
 * <ul>
 *   <li>an {@link NDArray}: used as it is (the caller keeps owning it);
 *   <li>an integer ({@code Integer}, {@code Long}, {@code Short}, {@code Byte}): one int64 value
 *       repeated for every sample, shape {@code (n)};
 *   <li>{@code int[]}, {@code long[]} or a {@code List} of integers: int64, one per sample, shape
 *       {@code (n)} (a single value is repeated);
 *   <li>a {@code Float} / {@code Double}: float32 repeated, shape {@code (n)};
 *   <li>{@code double[]} / {@code float[]}: one vector for every sample (size or crop
 *       conditionings such as {@code original_size_as_tuple}), float32 {@code (n, len)};
 *   <li>{@code double[][]} / {@code float[][]}: one vector per sample, float32 {@code (n, len)};
 *   <li>{@code float[][][][]}: images {@code (n, C, H, W)} float32;
 *   <li>a {@code String}, {@code String[]} or {@code List<String>} (prompts for the text
 *       embedders, only through {@link #toValues}): kept as a list of {@code n} prompts (a single
 *       prompt is repeated).
 * </ul>
 */
final class BatchValues {

    private BatchValues() {}

    /**
     * Converts every value; new arrays go to {@code manager}.
     *
     * @param values the values by key
     * @param n the batch size, or -1 to take it from the values
     * @param manager owns the arrays created here
     * @return the arrays by key, in the order of {@code values}
     */
    static Map<String, NDArray> toArrays(Map<String, ?> values, int n, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : values.entrySet()) {
            out.put(e.getKey(), toArray(e.getKey(), e.getValue(), n, manager));
        }
        return out;
    }

    /**
     * Converts every value like {@link #toArrays}, except prompts, which stay a {@code List<String>}
     * of {@code n} entries.
     *
     * @param values the values by key
     * @param n the batch size, or -1 to take it from the values
     * @param manager owns the arrays created here
     * @return the arrays and prompt lists by key, in the order of {@code values}
     */
    static Map<String, Object> toValues(Map<String, ?> values, int n, NDManager manager) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : values.entrySet()) {
            List<String> texts = prompts(e.getKey(), e.getValue(), n);
            out.put(e.getKey(), texts != null ? texts : toArray(e.getKey(), e.getValue(), n, manager));
        }
        return out;
    }

    /** The value as n prompts, or null when it is not text. */
    private static List<String> prompts(String key, Object v, int n) {
        List<String> texts;
        if (v instanceof String s) {
            texts = List.of(s);
        } else if (v instanceof String[] a) {
            texts = List.of(a);
        } else if (v instanceof List<?> l && !l.isEmpty() && l.stream().allMatch(o -> o instanceof String)) {
            texts = l.stream().map(String.class::cast).toList();
        } else {
            return null;
        }
        int count = n < 0 ? texts.size() : n;
        if (texts.size() != count && texts.size() != 1) {
            throw new IllegalArgumentException("'" + key + "': " + texts.size() + " prompts for a batch of " + count
                    + " (give one per sample, or a single prompt for all)");
        }
        if (texts.size() == count) {
            return texts;
        }
        return java.util.Collections.nCopies(count, texts.get(0));
    }

    /**
     * The batch size a map of values implies: the first dimension of {@code key}'s value.
     *
     * @param values the values
     * @param key the key whose value carries the batch dimension
     * @return the batch size
     * @throws IllegalArgumentException when the value is missing or carries no batch dimension
     */
    static int batchSize(Map<String, ?> values, String key) {
        Object v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("the batch has no '" + key + "' (input_key); keys: " + values.keySet());
        }
        if (v instanceof NDArray a && a.getShape().dimension() > 0) {
            return (int) a.getShape().get(0);
        }
        if (v instanceof float[][][][] x) {
            return x.length;
        }
        throw new IllegalArgumentException("'" + key + "' must be an NDArray or a float[][][][] of images (N, C, H, W), got "
                + typeName(v));
    }

    private static NDArray toArray(String key, Object v, int n, NDManager m) {
        if (v == null) {
            throw new IllegalArgumentException("value of '" + key + "' is null");
        }
        if (v instanceof NDArray a) {
            return a;
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ints(key, new long[] {((Number) v).longValue()}, n, m);
        }
        if (v instanceof Float || v instanceof Double) {
            float[] x = new float[requireN(key, n)];
            java.util.Arrays.fill(x, ((Number) v).floatValue());
            return Tensors.create(m, x, new Shape(x.length));
        }
        if (v instanceof int[] a) {
            long[] l = new long[a.length];
            for (int i = 0; i < a.length; i++) {
                l[i] = a[i];
            }
            return ints(key, l, n, m);
        }
        if (v instanceof long[] a) {
            return ints(key, a, n, m);
        }
        if (v instanceof List<?> list) {
            long[] l = new long[list.size()];
            for (int i = 0; i < l.length; i++) {
                Object o = list.get(i);
                if (!(o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte)) {
                    throw new IllegalArgumentException("'" + key + "': a list must hold integers, got "
                            + typeName(o) + " at index " + i);
                }
                l[i] = ((Number) o).longValue();
            }
            return ints(key, l, n, m);
        }
        if (v instanceof double[] a) {
            float[] f = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                f[i] = (float) a[i];
            }
            return vectors(key, new float[][] {f}, n, m);
        }
        if (v instanceof float[] a) {
            return vectors(key, new float[][] {a}, n, m);
        }
        if (v instanceof double[][] a) {
            float[][] f = new float[a.length][];
            for (int i = 0; i < a.length; i++) {
                f[i] = new float[a[i].length];
                for (int j = 0; j < a[i].length; j++) {
                    f[i][j] = (float) a[i][j];
                }
            }
            return vectors(key, f, n, m);
        }
        if (v instanceof float[][] a) {
            return vectors(key, a, n, m);
        }
        if (v instanceof float[][][][] x) {
            return images(key, x, n, m);
        }
        throw new IllegalArgumentException("'" + key + "': unsupported value type " + typeName(v) + " (use an NDArray,"
                + " an integer, int[]/long[]/List<Integer>, double[]/float[] vectors, double[][]/float[][] or"
                + " float[][][][] images)");
    }

    private static NDArray ints(String key, long[] values, int n, NDManager m) {
        if (values.length == 0) {
            throw new IllegalArgumentException("'" + key + "': no values");
        }
        int count = n < 0 ? values.length : n;
        if (values.length != count && values.length != 1) {
            throw new IllegalArgumentException("'" + key + "': " + values.length + " values for a batch of " + count
                    + " (give one per sample, or a single value for all)");
        }
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = values[values.length == 1 ? 0 : i];
        }
        return Tensors.create(m, out, new Shape(count));
    }

    private static NDArray vectors(String key, float[][] rows, int n, NDManager m) {
        if (rows.length == 0 || rows[0].length == 0) {
            throw new IllegalArgumentException("'" + key + "': empty vector");
        }
        int count = n < 0 ? rows.length : n;
        if (rows.length != count && rows.length != 1) {
            throw new IllegalArgumentException("'" + key + "': " + rows.length + " vectors for a batch of " + count
                    + " (give one per sample, or a single vector for all)");
        }
        int len = rows[0].length;
        float[] out = new float[count * len];
        for (int i = 0; i < count; i++) {
            float[] r = rows[rows.length == 1 ? 0 : i];
            if (r.length != len) {
                throw new IllegalArgumentException("'" + key + "': vectors of different lengths (" + len + " and "
                        + r.length + ")");
            }
            System.arraycopy(r, 0, out, i * len, len);
        }
        return Tensors.create(m, out, new Shape(count, len));
    }

    private static NDArray images(String key, float[][][][] x, int n, NDManager m) {
        if (x.length == 0 || (n >= 0 && x.length != n)) {
            throw new IllegalArgumentException("'" + key + "': " + x.length + " images for a batch of " + n);
        }
        int c = x[0].length;
        int h = c == 0 ? 0 : x[0][0].length;
        int w = h == 0 ? 0 : x[0][0][0].length;
        if (c == 0 || h == 0 || w == 0) {
            throw new IllegalArgumentException("'" + key + "': empty images");
        }
        float[] out = new float[x.length * c * h * w];
        int p = 0;
        for (int b = 0; b < x.length; b++) {
            if (x[b].length != c) {
                throw new IllegalArgumentException("'" + key + "': images of different shapes");
            }
            for (int ci = 0; ci < c; ci++) {
                if (x[b][ci].length != h) {
                    throw new IllegalArgumentException("'" + key + "': images of different shapes");
                }
                for (int y = 0; y < h; y++) {
                    if (x[b][ci][y].length != w) {
                        throw new IllegalArgumentException("'" + key + "': images of different shapes");
                    }
                    System.arraycopy(x[b][ci][y], 0, out, p, w);
                    p += w;
                }
            }
        }
        return Tensors.create(m, out, new Shape(x.length, c, h, w));
    }

    private static int requireN(String key, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("'" + key + "': a single number needs the batch size");
        }
        return n;
    }

    private static String typeName(Object o) {
        return o == null ? "null" : o.getClass().getSimpleName();
    }
}
