package io.github.sgm4j.modules.diffusionmodules.denoiser;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.modules.diffusionmodules.wrappers.DiffusionNetwork;
import java.util.Map;

/**
 * What a sampler calls: {@code denoiser(input, sigma, c)}, the closure sgm's {@code
 * DiffusionEngine.sample} builds as {@code lambda input, sigma, c: self.denoiser(self.model, input,
 * sigma, c)}. {@link Denoiser#bind(DiffusionNetwork)} makes one from a denoiser and a network.
 */
@FunctionalInterface
public interface DenoiseFunction {

    /**
     * Estimates the clean data.
     *
     * @param x the noisy input [B, ...]
     * @param sigma the noise levels [B]
     * @param cond conditioning by key
     * @return the denoised estimate, shaped like {@code x}
     */
    NDArray denoise(NDArray x, NDArray sigma, Map<String, NDArray> cond);
}
