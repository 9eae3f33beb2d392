package io.github.sgm4j.modules.diffusionmodules.wrappers;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DiscreteDenoiser;
import java.util.Map;

/**
 * The network a {@link Denoiser} wraps: {@code network(x, c_noise, cond)} as sgm's {@code
 * OpenAIWrapper.forward(x, t, c)} is called ({@code c} holds {@code vector} / {@code crossattn} /
 * {@code concat}). Any function of this shape works: the UNet behind {@code OpenAIWrapper}, or an
 * analytic model in tests.
 */
@FunctionalInterface
public interface DiffusionNetwork {

    /**
     * Runs the network.
     *
     * @param x the scaled input {@code x * c_in}, [B, C, H, W]
     * @param cNoise the noise conditioning [B] (float, or int64 indices for a {@link DiscreteDenoiser})
     * @param cond conditioning by key
     * @return the raw network output, shaped like {@code x}
     */
    NDArray forward(NDArray x, NDArray cNoise, Map<String, NDArray> cond);
}
