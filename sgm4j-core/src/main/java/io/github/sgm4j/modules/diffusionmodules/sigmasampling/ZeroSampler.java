package io.github.sgm4j.modules.diffusionmodules.sigmasampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.modules.diffusionmodules.sigma_sampling.ZeroSampler}: constant sigma {@code
 * 1e-5} (a {@code randn(n)} draw is still consumed, as in the reference).
 */
public class ZeroSampler implements SigmaSampler {

    /** Builds the sampler (no parameters). */
    public ZeroSampler() {}

    @Override
    public NDArray sample(NDManager manager, int n, NDArray rand, NoiseSource noise) {
        try (NDArray fresh = noise.randn(manager, new Shape(n))) {
            NDArray like = rand == null ? fresh : rand;
            try (NDArray z = like.zerosLike()) {
                return F.add(z, 1.0e-5f);
            }
        }
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code ZeroSampler}
     */
    public static ZeroSampler fromConfig(ConfigNode p, Instantiator inst) {
        return new ZeroSampler();
    }
}
