package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.modules.EmaScope;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.util.TextImages;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * sgm DiffusionEngine's image and caption logging ({@code log_images}, {@code log_conditionings}):
 * inputs, reconstructions, conditionings rendered as text images and EMA samples. {@link
 * DiffusionEngine#logImages} and {@link DiffusionEngine#logConditionings} delegate here.
 */
final class ImageLogger {

    private ImageLogger() {}

    /**
     * {@code log_images(batch, N)}: {@code inputs}, {@code reconstructions}, the conditionings as
     * captions ({@link #logConditionings(DiffusionEngine, Map, int)}) and, with a sampler, {@code
     * samples} drawn in the EMA scope with unconditional guidance on every conditioner key.
     *
     * @param engine the engine
     * @param batch the batch ({@code input_key} and the conditioner's inputs)
     * @param n at most this many images per entry
     * @param noise the sampler's noise
     * @return entries in the reference's order: inputs, reconstructions, one per logged
     *     conditioning key, samples
     * @throws Exception when the sampler or the first stage fails
     */
    static Map<String, NDArray> logImages(DiffusionEngine engine, Map<String, NDArray> batch, int n, NoiseSource noise)
            throws Exception {
        DiffusionEngine.Params params = engine.getParams();
        GeneralConditioner conditioner = engine.getConditioner();
        NDArray x = batch.get(params.inputKey());
        if (x == null) {
            throw new IllegalArgumentException("batch has no '" + params.inputKey() + "' (input_key)");
        }
        int count = (int) Math.min(n, x.getShape().get(0));
        Map<String, NDArray> out = new LinkedHashMap<>();
        NDArray inputs = x.get("0:" + count);
        out.put("inputs", inputs);
        NDArray z = engine.encode(inputs, noise);
        out.put("reconstructions", engine.decode(z));
        out.putAll(logConditionings(engine, batch, count));
        if (engine.getSampler() != null) {
            Map<String, NDArray> sub = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : batch.entrySet()) {
                sub.put(e.getKey(), e.getValue().get("0:" + count));
            }
            List<String> keys = conditioner.getEmbedders().stream().map(AbstractEmbModel::getInputKey).toList();
            GeneralConditioner.CondPair cu = conditioner.getUnconditionalConditioning(sub, null, keys, null);
            try (EmaScope ignored = engine.emaScope()) {
                NDArray s = engine.sample(cu.c(), cu.uc(), count, z.getShape().slice(1), noise, null);
                out.put("samples", engine.decode(s));
            }
        }
        return out;
    }

    /**
     * {@code log_conditionings(batch, n)}: each embedder's input (all of them, or those in {@code
     * log_keys}; none with {@code no_cond_log}) rendered as a caption image by {@link
     * TextImages#render}: a 1-D tensor (class labels) as one number per image in a font of {@code
     * H / 4} pixels, a 2-D tensor (sizes, crop coordinates) as its row joined by {@code x} in a font of
     * {@code H / 20}. As in the reference the canvas is {@code H} wide and {@code W} high (the same
     * for square inputs).
     *
     * @param engine the engine (its {@code input_key}, {@code log_keys}, {@code no_cond_log} and
     *     embedders)
     * @param batch the batch
     * @param n at most this many captions per key
     * @return conditioner input key to {@code (n, 3, W, H)} images in [-1, 1]
     * @throws IllegalArgumentException when a logged key is missing from the batch or has more than
     *     two dimensions (the reference cannot caption those either; exclude it with {@code log_keys}
     *     or set {@code no_cond_log})
     */
    static Map<String, NDArray> logConditionings(DiffusionEngine engine, Map<String, NDArray> batch, int n) {
        DiffusionEngine.Params params = engine.getParams();
        GeneralConditioner conditioner = engine.getConditioner();
        NDArray x = batch.get(params.inputKey());
        if (x == null) {
            throw new IllegalArgumentException("batch has no '" + params.inputKey() + "' (input_key)");
        }
        Shape s = x.getShape();
        int imageH = (int) s.get(s.dimension() - 2);
        int imageW = (int) s.get(s.dimension() - 1);
        Map<String, NDArray> log = new LinkedHashMap<>();
        if (params.noCondLog()) {
            return log;
        }
        for (AbstractEmbModel embedder : conditioner.getEmbedders()) {
            String key = embedder.getInputKey();
            if (key == null || (params.logKeys() != null && !params.logKeys().contains(key))) {
                continue;
            }
            NDArray c = batch.get(key);
            if (c == null) {
                throw new IllegalArgumentException("log_conditionings: batch has no '" + key + "' (an embedder's input_key)");
            }
            long rows = Math.min(n, c.getShape().get(0));
            int dims = c.getShape().dimension();
            if (dims != 1 && dims != 2) {
                throw new IllegalArgumentException("log_conditionings: cannot caption '" + key + "' of shape " + c.getShape()
                        + " (only 1-D and 2-D tensors); leave it out with log_keys or set no_cond_log");
            }
            int cols = dims == 1 ? 1 : (int) c.getShape().get(1);
            String[] text;
            try (NDArray head = c.get("0:" + rows)) {
                text = scalarTexts(head);
            }
            List<String> captions = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                captions.add(String.join("x", Arrays.asList(text).subList(i * cols, (i + 1) * cols)));
            }
            int size = dims == 1 ? imageH / 4 : imageH / 20;
            // the reference passes (h, w) where PIL expects (width, height)
            log.put(key, TextImages.render(x.getManager(), imageW, imageH, captions, size));
        }
        return log;
    }

    /** Python's {@code str(v)} of each element: integers plainly, booleans as True/False, floats as doubles. */
    private static String[] scalarTexts(NDArray a) {
        int count = (int) a.size();
        String[] out = new String[count];
        DataType t = a.getDataType();
        if (t == DataType.BOOLEAN) {
            boolean[] v = a.toBooleanArray();
            for (int i = 0; i < count; i++) {
                out[i] = v[i] ? "True" : "False";
            }
        } else if (t.isInteger()) {
            try (NDArray l = a.toType(DataType.INT64, true)) {
                long[] v = l.toLongArray();
                for (int i = 0; i < count; i++) {
                    out[i] = Long.toString(v[i]);
                }
            }
        } else {
            try (NDArray d = a.toType(DataType.FLOAT64, true)) {
                double[] v = d.toDoubleArray();
                for (int i = 0; i < count; i++) {
                    out[i] = Double.toString(v[i]);
                }
            }
        }
        return out;
    }
}
