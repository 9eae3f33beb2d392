package io.github.sgm4j.modules.encoders;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.Timestep;

/**
 * Port of {@code sgm.modules.encoders.modules.ConcatTimestepEmbedderND}: embeds each column of a
 * [B, D] input with {@code Timestep(outdim)} and concatenates them to [B, D * outdim] (SDXL's
 * original-size / crop / target-size vectors).
 */
public class ConcatTimestepEmbedderND extends AbstractEmbModel {

    /**
     * Constructor arguments (sgm has no default outdim).
     *
     * @param outdim the sinusoidal embedding dimension per input column
     */
    public record Params(int outdim) {}

    private final Params params;
    private final Timestep timestep;

    /**
     * Builds the embedder.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public ConcatTimestepEmbedderND(Params params) {
        if (params.outdim() < 1) {
            throw new IllegalArgumentException("ConcatTimestepEmbedderND: outdim must be >= 1, got " + params.outdim());
        }
        this.params = params;
        this.timestep = register("timestep", new Timestep(params.outdim()));
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params params() {
        return params;
    }

    @Override
    public NDArray forward(NDArray... inputs) {
        expectInputs(inputs, 1);
        NDArray x = inputs[0];
        int nd = x.getShape().dimension();
        if (nd != 1 && nd != 2) {
            throw new IllegalArgumentException("ConcatTimestepEmbedderND: expected [B] or [B, D] input, got "
                    + x.getShape());
        }
        long b = x.getShape().get(0);
        long dims = nd == 1 ? 1 : x.getShape().get(1);
        // rearrange(x, "b d -> (b d)")
        try (NDArray flat = x.reshape(b * dims);
                NDArray emb = timestep.forward(flat)) {
            // rearrange(emb, "(b d) d2 -> b (d d2)")
            return emb.reshape(b, dims * params.outdim());
        }
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.ConcatTimestepEmbedderND} params ({@code outdim}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code ConcatTimestepEmbedderND}
     */
    public static ConcatTimestepEmbedderND fromConfig(ConfigNode p, Instantiator inst) {
        return new ConcatTimestepEmbedderND(new Params(p.getInt("outdim")));
    }
}
