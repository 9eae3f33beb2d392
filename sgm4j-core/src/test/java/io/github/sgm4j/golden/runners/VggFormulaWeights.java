package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.golden.GoldenCase;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The VGG16 weights of the LPIPS golden cases, which are not stored but defined by {@code
 * extra.vgg_weight_formula} (a splitmix64 finaliser over {@code SEED + (tensor_index + j + 1) *
 * golden_gamma}, scaled to {@code (2u - 1) * scale}). The seed, 0x5EED5EED, is not in the case
 * files; every generated tensor is checked against the recorded {@code sum} and {@code first}
 * checksums, so a wrong seed fails loudly.
 */
final class VggFormulaWeights {

    static final long SEED = 0x5EED5EEDL;
    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    private VggFormulaWeights() {}

    static float value(long tensorIndex, long j, float scale) {
        long z = SEED + tensorIndex * GAMMA + (j + 1) * GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        float u = (float) (z >>> 40) / 16777216f;
        return (2f * u - 1f) * scale;
    }

    /** The generated tensors by the case's keys, checked against the recorded checksums. */
    static Map<String, NDArray> generate(GoldenCase g, NDManager m) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (JsonElement e : g.extra("vgg_weights_not_stored").getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            long[] dims = new long[o.getAsJsonArray("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = o.getAsJsonArray("shape").get(i).getAsLong();
            }
            Shape shape = new Shape(dims);
            long ti = o.get("tensor_index").getAsLong();
            float scale = o.get("scale").getAsFloat();
            float[] v = new float[Math.toIntExact(shape.size())];
            double sum = 0;
            for (int j = 0; j < v.length; j++) {
                v[j] = value(ti, j, scale);
                sum += v[j];
            }
            String key = o.get("key").getAsString();
            double expected = o.get("sum").getAsDouble();
            if (Math.abs(sum - expected) > 1e-6 * Math.max(1, Math.abs(expected))) {
                throw new IllegalStateException(key + ": generated VGG weights sum " + sum + " != recorded " + expected
                        + " (vgg_weight_formula seed?)");
            }
            if (o.has("first")) {
                for (int j = 0; j < o.getAsJsonArray("first").size(); j++) {
                    if (v[j] != o.getAsJsonArray("first").get(j).getAsFloat()) {
                        throw new IllegalStateException(key + "[" + j + "] = " + v[j] + " != recorded "
                                + o.getAsJsonArray("first").get(j));
                    }
                }
            }
            out.put(key, Tensors.create(m, v, shape));
        }
        return out;
    }
}
