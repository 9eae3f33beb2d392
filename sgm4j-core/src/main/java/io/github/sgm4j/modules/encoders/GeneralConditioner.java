package io.github.sgm4j.modules.encoders;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Port of {@code sgm.modules.encoders.modules.GeneralConditioner} ({@code sgm.modules.GeneralConditioner}):
 * runs every embedder on its batch key(s) and routes the outputs by rank: 2-D to {@code vector}
 * (concatenated on dim 1), 3-D to {@code crossattn} (dim 2), 4-D to {@code concat} (dim 1).
 *
 * <p>Unconditional-guidance dropout: for an embedder with {@code ucg_rate > 0}, each embedding is
 * multiplied by {@code bernoulli((1 - ucg_rate) * ones(B))} drawn from the noise source, one draw
 * per embedding per call (also when the output is then zeroed by {@code force_zero_embeddings}).
 * With a string {@code legacy_ucg_value} (text embedders) prompts are replaced instead, drawn from
 * the same noise source (the reference uses numpy's generator). The embedders live under {@code
 * embedders.N} ({@code conditioner.embedders.N.*} in engine checkpoints). Batch values are arrays,
 * or lists of prompts for the text embedders.
 */
public class GeneralConditioner extends io.github.sgm4j.nn.Module {

    /** Output key by embedding rank. */
    public static final Map<Integer, String> OUTPUT_DIM2KEYS = Map.of(2, "vector", 3, "crossattn", 4, "concat");
    /** Concatenation dim by output key. */
    public static final Map<String, Integer> KEY2CATDIM =
            Map.of("vector", 1, "crossattn", 2, "concat", 1, "cond_view", 1, "cond_motion", 1);

    private final ModuleList<AbstractEmbModel> embedders;

    /**
     * Builds the conditioner from configured embedders (their {@code input_key(s)}, {@code
     * ucg_rate} and {@code is_trainable} already set). Non-trainable embedders are frozen and put
     * in eval mode, as in the reference.
     *
     * @param embModels the embedders, in the order their outputs are concatenated
     * @throws IllegalArgumentException if an embedder has neither {@code input_key} nor {@code input_keys}
     */
    public GeneralConditioner(List<AbstractEmbModel> embModels) {
        embedders = register("embedders", new ModuleList<>());
        for (int n = 0; n < embModels.size(); n++) {
            AbstractEmbModel e = embModels.get(n);
            if (e.getInputKey() == null && e.getInputKeys() == null) {
                throw new IllegalArgumentException("GeneralConditioner: need either 'input_key' or 'input_keys' for "
                        + "embedder #" + n + " (" + e.getClass().getSimpleName() + ")");
            }
            if (!e.isTrainable()) {
                e.requiresGrad(false);
                e.eval();
            }
            embedders.add(e);
        }
    }

    /** Training mode for trainable embedders only; frozen ones stay in eval mode (sgm's {@code disabled_train}). */
    @Override
    public Module train(boolean mode) {
        super.train(mode);
        for (AbstractEmbModel e : embedders.items()) {
            if (!e.isTrainable()) {
                e.eval();
            }
        }
        return this;
    }

    /**
     * The embedders in order.
     *
     * @return the embedders (unmodifiable)
     */
    public List<AbstractEmbModel> getEmbedders() {
        return embedders.items();
    }

    /**
     * {@code forward(batch)}: the conditioning dict.
     *
     * @param batch the batch by key: arrays, or lists of prompts for text embedders
     * @param noise source of the ucg draws (may be null when every ucg_rate is 0)
     * @return the conditioning by output key ({@code crossattn}, {@code vector}, {@code concat}), new arrays
     *     the caller closes
     */
    public Map<String, NDArray> forward(Map<String, ?> batch, NoiseSource noise) {
        return forward(batch, null, noise);
    }

    /**
     * {@code forward(batch, force_zero_embeddings)}.
     *
     * <p>An embedder may return several embeddings (a text encoder with {@code
     * always_return_pooled} returns the context and the pooled vector); each is routed by its rank
     * and gets its own ucg draw, in order, as in the reference. An embedder with {@code
     * legacy_ucg_value} instead replaces each prompt of its batch key by that value with probability
     * {@code ucg_rate} (one bernoulli draw per prompt from {@code noise}; the reference uses numpy's
     * generator); the replaced list is what later embedders of the same key see. The caller's batch
     * is not modified.
     *
     * @param batch the batch by key: arrays, or lists of prompts for text embedders
     * @param forceZeroEmbeddings input keys whose embeddings are replaced by zeros (null = none)
     * @param noise source of the ucg draws (may be null when every ucg_rate is 0)
     * @return the conditioning by output key ({@code crossattn}, {@code vector}, {@code concat}), new arrays
     *     the caller closes
     * @throws IllegalArgumentException if an embedder's input key is missing from the batch
     */
    public Map<String, NDArray> forward(Map<String, ?> batch, Collection<String> forceZeroEmbeddings,
            NoiseSource noise) {
        return forward(batch, forceZeroEmbeddings, noise, false);
    }

    private Map<String, NDArray> forward(Map<String, ?> batchIn, Collection<String> forceZeroEmbeddings,
            NoiseSource noise, boolean noUcg) {
        Collection<String> fz = forceZeroEmbeddings == null ? List.of() : forceZeroEmbeddings;
        Map<String, Object> batch = new LinkedHashMap<>(batchIn);
        Map<String, NDArray> output = new LinkedHashMap<>();
        List<AbstractEmbModel> list = embedders.items();
        for (int n = 0; n < list.size(); n++) {
            AbstractEmbModel embedder = list.get(n);
            List<NDArray> embs;
            if (embedder.getInputKey() != null) {
                if (embedder.getLegacyUcgValue() != null && !noUcg && embedder.getUcgRate() > 0.0) {
                    batch.put(embedder.getInputKey(), possiblyGetUcgVal(embedder, n,
                            require(batch, embedder.getInputKey(), n, embedder), noise));
                }
                embs = embedder.embed(List.of(require(batch, embedder.getInputKey(), n, embedder)));
            } else {
                List<Object> ins = new ArrayList<>();
                for (String k : embedder.getInputKeys()) {
                    ins.add(require(batch, k, n, embedder));
                }
                embs = embedder.embed(ins);
            }
            for (NDArray e : embs) {
                output = route(output, embedder, n, e, fz, noise, noUcg);
            }
        }
        return output;
    }

    /** Adds one embedding to the output: ucg dropout, force-zero, concatenation by output key. */
    private static Map<String, NDArray> route(Map<String, NDArray> output, AbstractEmbModel embedder, int n,
            NDArray embIn, Collection<String> fz, NoiseSource noise, boolean noUcg) {
        NDArray emb = embIn;
        String outKey = "cond_view".equals(embedder.getInputKey()) || "cond_motion".equals(embedder.getInputKey())
                ? embedder.getInputKey()
                : OUTPUT_DIM2KEYS.get(emb.getShape().dimension());
        if (outKey == null) {
            throw new IllegalArgumentException("GeneralConditioner: embedder #" + n + " ("
                    + embedder.getClass().getSimpleName() + ") returned shape " + emb.getShape()
                    + "; expected rank 2 (vector), 3 (crossattn) or 4 (concat)");
        }
        double rate = noUcg ? 0.0 : embedder.getUcgRate();
        if (rate > 0.0 && embedder.getLegacyUcgValue() == null) {
            if (noise == null) {
                throw new IllegalArgumentException("GeneralConditioner: embedder #" + n
                        + " has ucg_rate " + rate + " and needs a NoiseSource");
            }
            long b = emb.getShape().get(0);
            // torch.bernoulli((1.0 - ucg_rate) * torch.ones(B)), expanded like emb
            try (NDArray ones = emb.getManager().ones(new Shape(b));
                    NDArray p = F.mul(ones, (float) (1.0 - rate));
                    NDArray keep = noise.bernoulli(p);
                    NDArray old = emb) {
                long[] shape = new long[emb.getShape().dimension()];
                java.util.Arrays.fill(shape, 1);
                shape[0] = b;
                try (NDArray k = keep.reshape(new Shape(shape))) {
                    emb = k.mul(old);
                }
            }
        }
        if (embedder.getInputKey() != null && fz.contains(embedder.getInputKey())) {
            try (NDArray old = emb) {
                emb = old.zerosLike();
            }
        }
        NDArray prev = output.get(outKey);
        if (prev != null) {
            try (NDArray a = prev;
                    NDArray b2 = emb) {
                output.put(outKey, NDArrays.concat(new NDList(a, b2), KEY2CATDIM.get(outKey)));
            }
        } else {
            output.put(outKey, emb);
        }
        return output;
    }

    /**
     * sgm's {@code possibly_get_ucg_val}: each prompt is replaced by {@code legacy_ucg_value} with
     * probability {@code ucg_rate}, one {@code bernoulli(ucg_rate)} draw per prompt.
     */
    private static List<String> possiblyGetUcgVal(AbstractEmbModel embedder, int n, Object value, NoiseSource noise) {
        if (!(value instanceof List<?> texts) || !texts.stream().allMatch(t -> t instanceof String)) {
            throw new IllegalArgumentException("GeneralConditioner: embedder #" + n + " has legacy_ucg_value, which "
                    + "replaces prompts; batch key '" + embedder.getInputKey() + "' must be a list of strings, got "
                    + value.getClass().getSimpleName());
        }
        if (noise == null) {
            throw new IllegalArgumentException("GeneralConditioner: embedder #" + n + " has ucg_rate "
                    + embedder.getUcgRate() + " and needs a NoiseSource");
        }
        NDManager m = embedder.getManager();
        if (m == null) {
            throw new IllegalStateException("GeneralConditioner: embedder #" + n + " has no allocated weights");
        }
        float[] probs = new float[texts.size()];
        java.util.Arrays.fill(probs, (float) embedder.getUcgRate());
        float[] draws;
        try (NDArray p = Tensors.create(m, probs);
                NDArray d = noise.bernoulli(p)) {
            draws = d.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            out.add(draws[i] != 0f ? embedder.getLegacyUcgValue() : (String) texts.get(i));
        }
        return out;
    }

    private static Object require(Map<String, ?> batch, String key, int n, AbstractEmbModel embedder) {
        Object v = batch.get(key);
        if (v == null) {
            throw new IllegalArgumentException("GeneralConditioner: embedder #" + n + " ("
                    + embedder.getClass().getSimpleName() + ") needs batch key '" + key + "', batch has "
                    + batch.keySet());
        }
        return v;
    }

    /**
     * The pair returned by {@link #getUnconditionalConditioning}.
     *
     * @param c the conditional conditioning by output key
     * @param uc the unconditional conditioning by output key
     */
    public record CondPair(Map<String, NDArray> c, Map<String, NDArray> uc) {}

    /**
     * {@code get_unconditional_conditioning(batch_c, batch_uc, force_uc_zero_embeddings,
     * force_cond_zero_embeddings)}: conditional and unconditional conditioning with ucg dropout off
     * (no draws).
     *
     * @param batchC the batch for {@code c}
     * @param batchUc the batch for {@code uc} (null: {@code batchC})
     * @param forceUcZeroEmbeddings input keys zeroed in {@code uc} (null = none)
     * @param forceCondZeroEmbeddings input keys zeroed in {@code c} (null = none)
     * @return the conditional and unconditional conditioning, new arrays the caller closes
     */
    public CondPair getUnconditionalConditioning(Map<String, ?> batchC, Map<String, ?> batchUc,
            Collection<String> forceUcZeroEmbeddings, Collection<String> forceCondZeroEmbeddings) {
        Map<String, NDArray> c = forward(batchC, forceCondZeroEmbeddings, null, true);
        Map<String, NDArray> uc = forward(batchUc == null ? batchC : batchUc, forceUcZeroEmbeddings, null, true);
        return new CondPair(c, uc);
    }

    /** The keys an {@code emb_models} entry may have next to {@code target}/{@code params}. */
    public static final Set<String> ENTRY_KEYS =
            Set.of("target", "params", "is_trainable", "ucg_rate", "input_key", "input_keys", "legacy_ucg_value");

    /**
     * Builds from {@code sgm.modules.GeneralConditioner} params: {@code emb_models} (required), a
     * list of embedder configs, each with {@code target}/{@code params} (built through the
     * Instantiator, which checks the embedder's own params) plus, with sgm's defaults:
     *
     * <ul>
     *   <li>{@code is_trainable} (false): a non-trainable embedder is frozen and in eval mode;
     *   <li>{@code ucg_rate} (0.0), in [0, 1];
     *   <li>exactly one of {@code input_key} (a string) or {@code input_keys} (a list of strings);
     *       sgm silently prefers {@code input_key} when both are given, sgm4j rejects the pair;
     *   <li>{@code legacy_ucg_value} (null): a string replaces each prompt of the batch key with
     *       probability {@code ucg_rate} (drawn from the noise source; the reference uses numpy's
     *       generator), instead of the embedding dropout; other values are accepted only where they
     *       have no effect ({@code ucg_rate} 0).
     * </ul>
     *
     * Any other key of an entry is an error naming it, with a did-you-mean among these keys.
     *
     * @throws ConfigException naming the entry key and value at fault
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code GeneralConditioner}
     */
    public static GeneralConditioner fromConfig(ConfigNode p, Instantiator inst) {
        List<AbstractEmbModel> embs = new ArrayList<>();
        for (ConfigNode e : p.getList("emb_models")) {
            boolean isTrainable = e.getBoolean("is_trainable", false);
            double ucgRate = e.getDouble("ucg_rate", 0.0);
            boolean hasKey = e.has("input_key");
            boolean hasKeys = e.has("input_keys");
            String inputKey = hasKey ? e.getString("input_key") : null;
            List<String> inputKeys = hasKeys ? e.getStringList("input_keys") : null;
            Object legacyUcgValue = e.raw("legacy_ucg_value");
            e.ignore("target", "params"); // read by the Instantiator below
            e.checkAllKeysRead(ENTRY_KEYS);
            AbstractEmbModel m = inst.instantiate(e, AbstractEmbModel.class);
            if (!(ucgRate >= 0.0 && ucgRate <= 1.0)) {
                throw new ConfigException(e.pathOf("ucg_rate"), "must be in [0, 1], got " + ucgRate);
            }
            if (hasKey && hasKeys) {
                throw new ConfigException(e.path(), "give either 'input_key' (" + inputKey + ") or 'input_keys' "
                        + inputKeys + ", not both");
            }
            if (!hasKey && !hasKeys) {
                throw new ConfigException(e.path(), "need either 'input_key' or 'input_keys' for embedder "
                        + m.getClass().getSimpleName());
            }
            if (legacyUcgValue != null && ucgRate > 0.0 && !(legacyUcgValue instanceof String)) {
                throw new ConfigException(e.pathOf("legacy_ucg_value"), "legacy_ucg_value " + legacyUcgValue
                        + " with ucg_rate " + ucgRate + " is not supported: the reference replaces such batch values"
                        + " with numpy's generator; sgm4j replaces only prompts (a string value, for a text embedder),"
                        + " from the noise source; drop legacy_ucg_value to get the ucg_rate dropout, which zeroes the"
                        + " embedding");
            }
            if (legacyUcgValue instanceof String str) {
                m.setLegacyUcgValue(str);
            }
            m.setTrainable(isTrainable);
            m.setUcgRate(ucgRate);
            if (hasKey) {
                m.setInputKey(inputKey);
            } else {
                m.setInputKeys(inputKeys);
            }
            embs.add(m);
        }
        return new GeneralConditioner(embs);
    }
}
