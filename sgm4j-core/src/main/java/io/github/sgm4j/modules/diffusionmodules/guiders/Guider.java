package io.github.sgm4j.modules.diffusionmodules.guiders;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.guiders.Guider}: prepares the denoiser inputs from
 * the conditional and unconditional conditioning, and combines the denoiser's output.
 */
public interface Guider {

    /** The denoiser inputs returned by {@link #prepareInputs}. */
    record Inputs(NDArray x, NDArray sigma, Map<String, NDArray> cond) {}

    /**
     * {@code prepare_inputs(x, s, c, uc)}.
     *
     * @param x the current sample [B, ...]
     * @param sigma the noise levels [B]
     * @param c conditional conditioning
     * @param uc unconditional conditioning (may be null for guiders that do not use it)
     * @return new arrays for {@code x} and {@code sigma} (the caller closes them), and the conditioning
     */
    Inputs prepareInputs(NDArray x, NDArray sigma, Map<String, NDArray> c, Map<String, NDArray> uc);

    /**
     * {@code __call__(x, sigma)}: the guided estimate from the denoiser output {@code x}.
     *
     * @param x the denoiser output for the prepared (possibly doubled) batch
     * @param sigma the noise levels {@code [B]} of the original batch
     * @return the guided estimate {@code [B, ...]}, a new array
     */
    NDArray apply(NDArray x, NDArray sigma);
}
