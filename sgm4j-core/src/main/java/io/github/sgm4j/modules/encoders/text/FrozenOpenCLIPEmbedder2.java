package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Port of {@code sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder2} (SDXL's second text
 * encoder): open_clip's text tower under {@code model.}, every block run, frozen.
 *
 * <p>With {@code legacy} (default) the output is {@code ln_final} of the chosen layer ({@code
 * last}: the last block's output, {@code penultimate}: the last block's input). Without it the
 * chosen layer is returned <em>without</em> {@code ln_final}, as sgm does, and with {@code
 * always_return_pooled} it is followed by the pooled vector: {@code ln_final(last)} at the
 * end-of-text position (largest token id) times {@code text_projection}.
 */
public class FrozenOpenCLIPEmbedder2 extends AbstractTextEmbedder {

    /** Text tower architecture by open_clip model name ({@code arch}). */
    public static final Map<String, OpenClipTextModel.Arch> ARCHS = Map.of(
            "ViT-H-14", new OpenClipTextModel.Arch(49408, 1024, 24, 16, 77, 1024),
            "ViT-bigG-14", new OpenClipTextModel.Arch(49408, 1280, 32, 20, 77, 1280),
            "ViT-L-14", new OpenClipTextModel.Arch(49408, 768, 12, 12, 77, 768));

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param arch the open_clip model name (default {@code ViT-H-14}); chooses the sizes
     * @param version the pretrained tag (default {@code laion2b_s32b_b79k}); recorded only, the
     *     weights come from the checkpoint
     * @param maxLength {@code max_length} (77)
     * @param freeze whether the model is frozen (true)
     * @param layer {@code last} (default) or {@code penultimate}
     * @param alwaysReturnPooled whether the pooled vector is returned too (false; needs {@code legacy} false)
     * @param legacy whether the chosen layer goes through {@code ln_final} and nothing else is returned (true)
     */
    public record Params(String arch, String version, int maxLength, boolean freeze, String layer,
            boolean alwaysReturnPooled, boolean legacy) {
        /**
         * sgm's defaults.
         *
         * @return ViT-H-14 / laion2b_s32b_b79k, 77, frozen, {@code last}, no pooled, legacy
         */
        public static Params defaults() {
            return new Params("ViT-H-14", "laion2b_s32b_b79k", 77, true, "last", false, true);
        }
    }

    private final Params params;
    private final OpenClipTextModel model;
    private final int layerIdx;

    /**
     * Builds the embedder.
     *
     * @param arch the text tower's sizes
     * @param tokenizer the open_clip tokenizer
     * @param params the constructor arguments
     * @throws IllegalArgumentException for a layer other than last/penultimate ({@code pooled} is
     *     listed by sgm but not implemented there), or pooled output with {@code legacy}
     */
    public FrozenOpenCLIPEmbedder2(OpenClipTextModel.Arch arch, TextTokenizer tokenizer, Params params) {
        super(tokenizer, params.maxLength());
        this.layerIdx = layerIndex(params.layer(), "FrozenOpenCLIPEmbedder2");
        if (params.alwaysReturnPooled() && params.legacy()) {
            throw new IllegalArgumentException("FrozenOpenCLIPEmbedder2: always_return_pooled needs legacy: False "
                    + "(sgm asserts not legacy when returning the pooled vector)");
        }
        if (params.maxLength() != arch.contextLength()) {
            throw new IllegalArgumentException("FrozenOpenCLIPEmbedder2: max_length " + params.maxLength()
                    + " differs from the " + arch.contextLength() + " positions of the model");
        }
        this.params = params;
        this.model = register("model", new OpenClipTextModel(arch));
        if (params.freeze()) {
            freeze();
        }
    }

    /** {@code last} -> 0, {@code penultimate} -> 1, anything else rejected. */
    static int layerIndex(String layer, String who) {
        return switch (layer) {
            case "last" -> 0;
            case "penultimate" -> 1;
            default -> throw new IllegalArgumentException(who + ": layer must be 'last' or 'penultimate', got '"
                    + layer + "'");
        };
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
     * @return {@code model}
     */
    public OpenClipTextModel model() {
        return model;
    }

    @Override
    public List<NDArray> encodeTokens(NDArray tokens) {
        try (NDList x = model.transformer(tokens, model.arch().layers())) {
            // x.get(0): penultimate (input of the last block), x.get(1): last
            NDArray chosen = x.get(layerIdx == 1 ? 0 : 1);
            List<NDArray> out = new ArrayList<>();
            if (params.legacy()) {
                out.add(model.lnFinal(chosen));
                return out;
            }
            out.add(chosen.duplicate());
            if (params.alwaysReturnPooled()) {
                try (NDArray o = model.lnFinal(x.get(1))) {
                    out.add(model.pool(o, tokens));
                }
            }
            return out;
        }
    }

    /**
     * The text tower sizes of a known open_clip model name.
     *
     * @param arch the model name
     * @param path the YAML path of {@code arch}, for the message
     * @return the sizes
     * @throws ConfigException for an unknown name, listing the known ones
     */
    public static OpenClipTextModel.Arch archOf(String arch, String path) {
        OpenClipTextModel.Arch a = ARCHS.get(arch);
        if (a == null) {
            throw new ConfigException(path, "unknown OpenCLIP model '" + arch + "'; known: "
                    + new TreeSet<>(ARCHS.keySet()) + " (the architecture is fixed by the name; the weights come"
                    + " from the checkpoint)");
        }
        return a;
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder2} params: {@code arch},
     * {@code version}, {@code device} (ignored: the device is the engine's), {@code max_length},
     * {@code freeze}, {@code layer}, {@code always_return_pooled}, {@code legacy}, with sgm's
     * defaults, and the sgm4j-only {@code arch_override} ({@link ArchOverride}). The tokenizer is {@link Tokenizers#openClip()}, resolved on first use.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator (unused)
     * @return the new embedder
     * @throws ConfigException naming the key at fault
     */
    public static FrozenOpenCLIPEmbedder2 fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        String arch = p.getString("arch", d.arch());
        p.ignore("device");
        Params params = new Params(arch, p.getString("version", d.version()), p.getInt("max_length", d.maxLength()),
                p.getBoolean("freeze", d.freeze()), p.getString("layer", d.layer()),
                p.getBoolean("always_return_pooled", d.alwaysReturnPooled()), p.getBoolean("legacy", d.legacy()));
        OpenClipTextModel.Arch a = ArchOverride.openClip(archOf(arch, p.pathOf("arch")), p);
        try {
            return new FrozenOpenCLIPEmbedder2(a, Tokenizers.lazy(() -> Tokenizers.openClip(params.maxLength()), params.maxLength()), params);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage());
        }
    }
}
