package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;

/**
 * Progress reporting and cancellation for the samplers: called after every step. Returning
 * {@code false} cancels sampling before the next step ({@link SamplingCancelledException}).
 */
@FunctionalInterface
public interface SamplerCallback {

    /** A callback that never cancels. */
    SamplerCallback NONE = (step, total, sigma, denoised) -> true;

    /**
     * One finished step.
     *
     * @param step the 0-based step index
     * @param total the number of steps ({@code num_sigmas - 1})
     * @param sigma the noise level the step started from ({@code sigmas[step]})
     * @param denoised the step's (guided) denoised estimate; valid only during this call (it is
     *     released with the step), duplicate it into your own manager to keep it
     * @return {@code true} to continue, {@code false} to cancel
     */
    boolean onStep(int step, int total, float sigma, NDArray denoised);
}
