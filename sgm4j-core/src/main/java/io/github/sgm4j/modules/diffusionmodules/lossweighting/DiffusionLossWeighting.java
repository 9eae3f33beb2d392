package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import ai.djl.ndarray.NDArray;

/**
 * Port of {@code sgm.modules.diffusionmodules.loss_weighting.DiffusionLossWeighting} (and the
 * identical classes of {@code denoiser_weighting}): the per-sigma loss weight {@code w(sigma)}.
 */
@FunctionalInterface
public interface DiffusionLossWeighting {

    /**
     * {@code weighting(sigma)}, shaped like {@code sigma}.
     *
     * @param sigma the noise levels {@code [B]}
     * @return the weights, a new array shaped like {@code sigma}
     */
    NDArray apply(NDArray sigma);
}
