package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser_scaling.EpsScaling} (epsilon prediction):
 * {@code c_skip = 1}, {@code c_out = -sigma}, {@code c_in = 1/sqrt(sigma^2+1)}, {@code c_noise =
 * sigma}.
 */
public class EpsScaling implements DenoiserScaling {

    /** Builds the scaling (no parameters). */
    public EpsScaling() {}

    @Override
    public Scalings apply(NDArray sigma) {
        try (NDArray denom = DenoiserScaling.sigmaSqPlus(sigma, 1f);
                NDArray root = denom.sqrt()) {
            return new Scalings(sigma.onesLike(), sigma.neg(), DenoiserScaling.rdiv(1f, root), sigma.duplicate());
        }
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EpsScaling}
     */
    public static EpsScaling fromConfig(ConfigNode p, Instantiator inst) {
        return new EpsScaling();
    }
}
