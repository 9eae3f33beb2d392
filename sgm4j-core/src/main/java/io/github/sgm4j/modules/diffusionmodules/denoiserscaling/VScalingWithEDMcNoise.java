package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser_scaling.VScalingWithEDMcNoise}: {@link
 * VScaling}'s coefficients with EDM's {@code c_noise = 0.25 log sigma}.
 */
public class VScalingWithEDMcNoise implements DenoiserScaling {

    /** Builds the scaling (no parameters). */
    public VScalingWithEDMcNoise() {}

    @Override
    public Scalings apply(NDArray sigma) {
        try (NDArray log = sigma.log();
                NDArray cNoise = F.mul(log, 0.25f)) {
            return VScaling.vScalings(sigma, cNoise);
        }
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code VScalingWithEDMcNoise}
     */
    public static VScalingWithEDMcNoise fromConfig(ConfigNode p, Instantiator inst) {
        return new VScalingWithEDMcNoise();
    }
}
