package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Port of {@code sgm.modules.encoders.modules.FrozenCLIPEmbedder} (and ldm's, which is the {@code
 * layer: last} case): HF {@code CLIPTextModel} under {@code transformer.}, frozen.
 *
 * <p>Output by {@code layer}: {@code last} the final-normalised last hidden state [B, 77, D];
 * {@code pooled} the pooled vector as [B, 1, D]; {@code hidden} {@code hidden_states[layer_idx]}
 * (index 0 is the embedding output, {@code i} the output of layer {@code i}, not normalised;
 * negative indices count from the end as in Python). With {@code always_return_pooled} the pooled
 * vector [B, D] follows as a second embedding.
 */
public class FrozenCLIPEmbedder extends AbstractTextEmbedder {

    /** The {@code layer} values. */
    public static final List<String> LAYERS = List.of("last", "pooled", "hidden");

    /** Architecture by HF model name ({@code version}). */
    public static final Map<String, ClipTextModel.Arch> VERSIONS = Map.of(
            "openai/clip-vit-large-patch14", new ClipTextModel.Arch(49408, 768, 12, 12, 77, 3072),
            "openai/clip-vit-base-patch32", new ClipTextModel.Arch(49408, 512, 12, 8, 77, 2048));

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param version the HF model name (default {@code openai/clip-vit-large-patch14}); chooses the
     *     architecture, the weights come from the checkpoint
     * @param maxLength {@code max_length} (77)
     * @param freeze whether the model is frozen (true)
     * @param layer {@code last} (default), {@code pooled} or {@code hidden}
     * @param layerIdx the hidden-state index for {@code hidden} (null otherwise)
     * @param alwaysReturnPooled whether the pooled vector is returned too (false)
     */
    public record Params(String version, int maxLength, boolean freeze, String layer, Integer layerIdx,
            boolean alwaysReturnPooled) {
        /**
         * sgm's defaults.
         *
         * @return {@code openai/clip-vit-large-patch14}, 77, frozen, {@code last}, no layer_idx, no pooled
         */
        public static Params defaults() {
            return new Params("openai/clip-vit-large-patch14", 77, true, "last", null, false);
        }
    }

    private final Params params;
    private final ClipTextModel transformer;

    /**
     * Builds the embedder.
     *
     * @param arch the text tower's sizes
     * @param tokenizer the HF-style CLIP tokenizer
     * @param params the constructor arguments
     * @throws IllegalArgumentException for an unknown layer or an out-of-range layer_idx
     */
    public FrozenCLIPEmbedder(ClipTextModel.Arch arch, TextTokenizer tokenizer, Params params) {
        super(tokenizer, params.maxLength());
        if (!LAYERS.contains(params.layer())) {
            throw new IllegalArgumentException("FrozenCLIPEmbedder: layer must be one of " + LAYERS + ", got '"
                    + params.layer() + "'");
        }
        if ("hidden".equals(params.layer())) {
            Integer idx = params.layerIdx();
            // sgm asserts 0 <= abs(layer_idx) <= 12; hidden_states has layers + 1 entries
            if (idx == null || Math.abs(idx) > 12 || idx > arch.layers() || idx < -(arch.layers() + 1)) {
                throw new IllegalArgumentException("FrozenCLIPEmbedder: layer 'hidden' needs layer_idx with "
                        + "|layer_idx| <= 12 indexing the " + (arch.layers() + 1) + " hidden states, got " + idx);
            }
        }
        if (params.maxLength() > arch.contextLength()) {
            throw new IllegalArgumentException("FrozenCLIPEmbedder: max_length " + params.maxLength()
                    + " exceeds the " + arch.contextLength() + " positions of the model");
        }
        this.params = params;
        this.transformer = register("transformer", new ClipTextModel(arch));
        if (params.freeze()) {
            freeze();
        }
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params params() {
        return params;
    }

    /**
     * The text tower.
     *
     * @return {@code transformer}
     */
    public ClipTextModel transformer() {
        return transformer;
    }

    @Override
    public List<NDArray> encodeTokens(NDArray tokens) {
        boolean hidden = "hidden".equals(params.layer());
        try (ClipTextModel.Output o = transformer.forward(tokens, hidden)) {
            List<NDArray> out = new ArrayList<>();
            switch (params.layer()) {
                case "last" -> out.add(o.lastHiddenState().duplicate());
                case "pooled" -> out.add(o.pooled().expandDims(1)); // pooler_output[:, None, :]
                default -> {
                    List<NDArray> hs = o.hiddenStates();
                    int idx = params.layerIdx() < 0 ? hs.size() + params.layerIdx() : params.layerIdx();
                    out.add(hs.get(idx).duplicate());
                }
            }
            if (params.alwaysReturnPooled()) {
                out.add(o.pooled().duplicate());
            }
            return out;
        }
    }

    /**
     * The architecture of a known {@code version}.
     *
     * @param version the HF model name
     * @param path the YAML path of {@code version}, for the message
     * @return the sizes
     * @throws ConfigException for an unknown name, listing the known ones
     */
    public static ClipTextModel.Arch archOf(String version, String path) {
        ClipTextModel.Arch a = VERSIONS.get(version);
        if (a == null) {
            throw new ConfigException(path, "unknown CLIP text model version '" + version + "'; known: "
                    + new java.util.TreeSet<>(VERSIONS.keySet()) + " (the architecture is fixed by the name; the"
                    + " weights come from the checkpoint)");
        }
        return a;
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.FrozenCLIPEmbedder} / {@code
     * ldm.modules.encoders.modules.FrozenCLIPEmbedder} params: {@code version}, {@code device}
     * (ignored: the device is the engine's), {@code max_length}, {@code freeze}, {@code layer},
     * {@code layer_idx}, {@code always_return_pooled}, with sgm's defaults, and the sgm4j-only {@code
     * arch_override} ({@link ArchOverride}). The tokenizer is {@link
     * Tokenizers#hfClip()}, resolved on first use.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator (unused)
     * @return the new embedder
     * @throws ConfigException naming the key at fault
     */
    public static FrozenCLIPEmbedder fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        String version = p.getString("version", d.version());
        p.ignore("device");
        Integer layerIdx = p.has("layer_idx") && !p.isNull("layer_idx") ? p.getInt("layer_idx") : null;
        p.ignore("layer_idx");
        Params params = new Params(version, p.getInt("max_length", d.maxLength()), p.getBoolean("freeze", d.freeze()),
                p.getString("layer", d.layer()), layerIdx,
                p.getBoolean("always_return_pooled", d.alwaysReturnPooled()));
        ClipTextModel.Arch arch = ArchOverride.clip(archOf(version, p.pathOf("version")), p);
        try {
            return new FrozenCLIPEmbedder(arch, Tokenizers.lazy(() -> Tokenizers.hfClip(params.maxLength()), params.maxLength()), params);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage());
        }
    }

    /**
     * The shape of the context for {@code batch} prompts (for planning, no weights needed).
     *
     * @param batch the batch size
     * @return [B, 1, D] for {@code pooled}, [B, max_length, D] otherwise
     */
    public Shape contextShape(long batch) {
        long d = transformer.arch().width();
        return "pooled".equals(params.layer()) ? new Shape(batch, 1, d) : new Shape(batch, params.maxLength(), d);
    }
}
