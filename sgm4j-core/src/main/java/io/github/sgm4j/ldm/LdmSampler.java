package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;

/**
 * An ldm sampler ({@link DDIMSampler}, {@link PLMSSampler}): the common {@code sample} call of
 * {@code ldm.models.diffusion.ddim.DDIMSampler} and {@code ldm.models.diffusion.plms.PLMSSampler}.
 */
public interface LdmSampler {

    /**
     * {@code sample(S, batch_size, shape, conditioning, ...)}: builds the {@code S}-step schedule
     * ({@code make_schedule}) and runs the sampling loop from {@code x_T} to {@code x_0} in the
     * latent space. Sampling is inference only (no autograd recording is needed).
     *
     * @param steps {@code S}, the number of DDIM steps
     * @param batchSize the batch size
     * @param shape the per-sample latent shape (C, H, W)
     * @param conditioning the conditioning (batch-first), or null
     * @param options eta, guidance, x_T, inpainting, logging, callback
     * @param noise source of every draw
     * @return the final latents [B, C, H, W] and the logged intermediates; every array belongs to the
     *     caller (see {@link SampleResult} for the sharing between them)
     * @throws IllegalArgumentException if {@code shape} is not 3-D, {@code S} is out of range, an
     *     option is invalid for the sampler, or the {@code x_T} / mask / {@code x0} /
     *     unconditional-conditioning shapes do not match
     */
    SampleResult sample(int steps, int batchSize, Shape shape, NDArray conditioning, SampleOptions options,
            NoiseSource noise);
}
