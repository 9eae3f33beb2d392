package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser_scaling.VScaling} (v prediction): {@code
 * c_skip = 1/(sigma^2+1)}, {@code c_out = -sigma/sqrt(sigma^2+1)}, {@code c_in =
 * 1/sqrt(sigma^2+1)}, {@code c_noise = sigma}.
 */
public class VScaling implements DenoiserScaling {

    /** Builds the scaling (no parameters). */
    public VScaling() {}

    @Override
    public Scalings apply(NDArray sigma) {
        try (NDArray cNoise = sigma.duplicate()) {
            return vScalings(sigma, cNoise);
        }
    }

    /** The v-prediction {@code c_skip, c_out, c_in} with the given {@code c_noise} (copied). */
    static Scalings vScalings(NDArray sigma, NDArray cNoise) {
        try (NDArray denom = DenoiserScaling.sigmaSqPlus(sigma, 1f);
                NDArray root = denom.sqrt();
                NDArray neg = sigma.neg()) {
            NDArray cSkip = DenoiserScaling.rdiv(1f, denom);
            NDArray cOut = neg.div(root);
            NDArray cIn = DenoiserScaling.rdiv(1f, root);
            return new Scalings(cSkip, cOut, cIn, cNoise.duplicate());
        }
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code VScaling}
     */
    public static VScaling fromConfig(ConfigNode p, Instantiator inst) {
        return new VScaling();
    }
}
