package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What {@link DDIMSampler} and {@link PLMSSampler} read of an ldm diffusion model ({@code
 * self.model} in {@code ldm.models.diffusion.ddim}/{@code plms}): the discrete schedule, {@code
 * apply_model} and {@code q_sample}. {@link DDPM} and {@link LatentDiffusion} implement it; tests
 * plug in analytic models.
 */
public interface SamplingModel {

    /** {@code num_timesteps}: the length of the schedule. */
    int numTimesteps();

    /** The float32 {@code alphas_cumprod} buffer [T]. */
    NDArray alphasCumprod();

    /** The float32 {@code sqrt_alphas_cumprod} buffer [T]. */
    NDArray sqrtAlphasCumprod();

    /** The float32 {@code sqrt_one_minus_alphas_cumprod} buffer [T]. */
    NDArray sqrtOneMinusAlphasCumprod();

    /**
     * {@code apply_model(x, t, c)}: the network output (eps for an eps-parameterized model).
     *
     * @param x [B, C, H, W]
     * @param t [B] int64 timesteps
     * @param c the conditioning tensor (batch-first), or null for an unconditional model
     */
    NDArray applyModel(NDArray x, NDArray t, NDArray c);

    /** The manager (and so the device) the model lives on; samplers draw their noise there. */
    NDManager getManager();

    /**
     * {@code q_sample(x_start, t, noise)}: {@code sqrt(a_t) * x_start + sqrt(1 - a_t) * noise}
     * with the schedule buffers gathered at {@code t}.
     */
    default NDArray qSample(NDArray xStart, NDArray t, NDArray noise) {
        try (NDArray a = LdmUtil.extractIntoTensor(sqrtAlphasCumprod(), t, xStart.getShape());
                NDArray b = LdmUtil.extractIntoTensor(sqrtOneMinusAlphasCumprod(), t, xStart.getShape());
                NDArray ax = a.mul(xStart);
                NDArray bn = b.mul(noise)) {
            return ax.add(bn);
        }
    }
}
