package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;

/** An ldm sampler ({@link DDIMSampler}, {@link PLMSSampler}): the common {@code sample} call. */
public interface LdmSampler {

    /**
     * {@code sample(S, batch_size, shape, conditioning, ...)}.
     *
     * @param steps {@code S}, the number of DDIM steps
     * @param batchSize the batch size
     * @param shape the per-sample latent shape (C, H, W)
     * @param conditioning the conditioning (batch-first), or null
     * @param options eta, guidance, x_T, inpainting, logging, callback
     * @param noise source of every draw
     */
    SampleResult sample(int steps, int batchSize, Shape shape, NDArray conditioning, SampleOptions options,
            NoiseSource noise);
}
