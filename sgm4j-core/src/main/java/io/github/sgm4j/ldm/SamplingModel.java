package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What {@link DDIMSampler} and {@link PLMSSampler} read of an ldm diffusion model ({@code
 * self.model} in {@code ldm.models.diffusion.ddim}/{@code plms}): the discrete schedule, {@code
 * apply_model} and {@code q_sample}. {@link DDPM} and {@link LatentDiffusion} implement it; tests
 * plug in analytic models.
 *
 * <p>The schedule buffers are the model's own registered buffers (float32, length {@link
 * #numTimesteps()}, on the model's device): callers borrow them and must not close them.
 */
public interface SamplingModel {

    /**
     * {@code num_timesteps}: the length of the discrete schedule ({@code T}, 1000 for the released
     * ldm configs).
     *
     * @return the number of DDPM timesteps; valid timesteps are {@code 0 .. T-1}
     */
    int numTimesteps();

    /**
     * The {@code alphas_cumprod} buffer, {@code cumprod(1 - betas)} (see {@link
     * LdmUtil#alphasCumprod}) rounded to float32.
     *
     * @return the float32 buffer [T], owned by the model; do not close it
     */
    NDArray alphasCumprod();

    /**
     * The {@code sqrt_alphas_cumprod} buffer, {@code sqrt(alphas_cumprod)}.
     *
     * @return the float32 buffer [T], owned by the model; do not close it
     */
    NDArray sqrtAlphasCumprod();

    /**
     * The {@code sqrt_one_minus_alphas_cumprod} buffer, {@code sqrt(1 - alphas_cumprod)}.
     *
     * @return the float32 buffer [T], owned by the model; do not close it
     */
    NDArray sqrtOneMinusAlphasCumprod();

    /**
     * {@code apply_model(x, t, c)}: the network output (eps for an eps-parameterized model).
     *
     * @param x [B, C, H, W]
     * @param t [B] int64 timesteps
     * @param c the conditioning tensor (batch-first), or null for an unconditional model
     * @return the network output [B, C, H, W], a new array the caller closes
     * @throws IllegalArgumentException if the model needs a conditioning and {@code c} is null
     *     (implementations may also reject mismatched shapes)
     */
    NDArray applyModel(NDArray x, NDArray t, NDArray c);

    /**
     * The manager (and so the device) the model lives on; samplers draw their noise there, so the
     * arrays they return belong to it.
     *
     * @return the model's manager (not to be closed by the caller)
     */
    NDManager getManager();

    /**
     * {@code q_sample(x_start, t, noise)}: {@code sqrt(a_t) * x_start + sqrt(1 - a_t) * noise}
     * with the schedule buffers gathered at {@code t} (the forward diffusion {@code q(x_t | x_0)}).
     * The reference draws {@code randn_like(x_start)} when {@code noise} is None; here the caller
     * always supplies it.
     *
     * @param xStart {@code x_0} [B, C, H, W]
     * @param t [B] integer timesteps in {@code [0, T)}
     * @param noise the Gaussian noise, shape of {@code xStart}
     * @return {@code x_t} [B, C, H, W], a new array in the manager of {@code t}; the caller closes it
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
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
