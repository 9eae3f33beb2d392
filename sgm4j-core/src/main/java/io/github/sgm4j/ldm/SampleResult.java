package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * The result of an ldm sampling loop: the samples and the {@code intermediates} ({@code x_inter}
 * and {@code pred_x0}; both lists start with {@code x_T}, as in the reference). The DDPM loop fills
 * {@code xInter} only.
 *
 * @param samples the final latents [B, C, H, W]
 * @param xInter the logged samples
 * @param predX0 the logged x0 predictions
 */
public record SampleResult(NDArray samples, List<NDArray> xInter, List<NDArray> predX0) {}
