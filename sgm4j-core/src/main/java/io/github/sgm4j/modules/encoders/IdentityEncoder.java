package io.github.sgm4j.modules.encoders;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

import ai.djl.ndarray.NDArray;

/** Port of {@code sgm.modules.encoders.modules.IdentityEncoder}: returns its input. */
public class IdentityEncoder extends AbstractEmbModel {

    /** Builds the encoder (no parameters). */
    public IdentityEncoder() {}

    /**
     * {@code encode(x)}: {@code x}.
     *
     * @param x the input
     * @return a new handle to {@code x}
     */
    public NDArray encode(NDArray x) {
        return x;
    }

    @Override
    public NDArray forward(NDArray... inputs) {
        expectInputs(inputs, 1);
        return io.github.sgm4j.nn.F.alias(inputs[0]);
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.IdentityEncoder} (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code IdentityEncoder}
     */
    public static IdentityEncoder fromConfig(ConfigNode p, Instantiator inst) {
        return new IdentityEncoder();
    }
}
