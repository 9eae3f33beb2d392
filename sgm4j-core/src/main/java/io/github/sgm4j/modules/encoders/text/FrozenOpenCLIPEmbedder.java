package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import java.util.List;

/**
 * Port of {@code sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder} (and the identical {@code
 * ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder} of Stability-AI's SD 2.x code): open_clip's
 * text tower under {@code model.}, frozen; the blocks run up to the chosen layer ({@code last}:
 * all, {@code penultimate}: all but the last) and the result goes through {@code ln_final}.
 */
public class FrozenOpenCLIPEmbedder extends AbstractTextEmbedder {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param arch the open_clip model name (default {@code ViT-H-14}); chooses the sizes
     * @param version the pretrained tag (default {@code laion2b_s32b_b79k}); recorded only, the
     *     weights come from the checkpoint
     * @param maxLength {@code max_length} (77)
     * @param freeze whether the model is frozen (true)
     * @param layer {@code last} (default) or {@code penultimate}
     */
    public record Params(String arch, String version, int maxLength, boolean freeze, String layer) {
        /**
         * sgm's defaults.
         *
         * @return ViT-H-14 / laion2b_s32b_b79k, 77, frozen, {@code last}
         */
        public static Params defaults() {
            return new Params("ViT-H-14", "laion2b_s32b_b79k", 77, true, "last");
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
     * @throws IllegalArgumentException for a layer other than last/penultimate
     */
    public FrozenOpenCLIPEmbedder(OpenClipTextModel.Arch arch, TextTokenizer tokenizer, Params params) {
        super(tokenizer, params.maxLength());
        this.layerIdx = FrozenOpenCLIPEmbedder2.layerIndex(params.layer(), "FrozenOpenCLIPEmbedder");
        if (params.maxLength() != arch.contextLength()) {
            throw new IllegalArgumentException("FrozenOpenCLIPEmbedder: max_length " + params.maxLength()
                    + " differs from the " + arch.contextLength() + " positions of the model");
        }
        if (arch.layers() - layerIdx < 1) {
            throw new IllegalArgumentException("FrozenOpenCLIPEmbedder: layer '" + params.layer() + "' needs more than "
                    + arch.layers() + " block(s)");
        }
        this.params = params;
        this.model = register("model", new OpenClipTextModel(arch));
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
     * @return {@code model}
     */
    public OpenClipTextModel model() {
        return model;
    }

    @Override
    public List<NDArray> encodeTokens(NDArray tokens) {
        try (NDList x = model.transformer(tokens, model.arch().layers() - layerIdx)) {
            return List.of(model.lnFinal(x.get(1)));
        }
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder} / {@code
     * ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder} params: {@code arch}, {@code version},
     * {@code device} (ignored: the device is the engine's), {@code max_length}, {@code freeze},
     * {@code layer}, with sgm's defaults (and the sgm4j-only {@code arch_override}, {@link ArchOverride}). The tokenizer is {@link Tokenizers#openClip()}, resolved
     * on first use.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator (unused)
     * @return the new embedder
     * @throws ConfigException naming the key at fault
     */
    public static FrozenOpenCLIPEmbedder fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        String arch = p.getString("arch", d.arch());
        p.ignore("device");
        Params params = new Params(arch, p.getString("version", d.version()), p.getInt("max_length", d.maxLength()),
                p.getBoolean("freeze", d.freeze()), p.getString("layer", d.layer()));
        OpenClipTextModel.Arch a = ArchOverride.openClip(FrozenOpenCLIPEmbedder2.archOf(arch, p.pathOf("arch")), p);
        try {
            return new FrozenOpenCLIPEmbedder(a, Tokenizers.lazy(() -> Tokenizers.openClip(params.maxLength()), params.maxLength()), params);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage());
        }
    }
}
