package io.github.sgm4j.modules.diffusionmodules.sigmasampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.noise.NoiseSource;

/**
 * The training-time sigma samplers of {@code sgm.modules.diffusionmodules.sigma_sampling}: {@code
 * sampler(n_samples, rand=None)}.
 */
public interface SigmaSampler {

    /**
     * Draws {@code n} noise levels.
     *
     * @param manager where the result lives
     * @param n the batch size
     * @param rand the draw to use instead of a fresh one, or null; as in the reference a fresh draw
     *     is consumed from {@code noise} even when {@code rand} is given
     * @param noise the noise source
     * @return [n] float32 sigmas
     */
    NDArray sample(NDManager manager, int n, NDArray rand, NoiseSource noise);
}
