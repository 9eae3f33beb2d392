package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * The result of an ldm sampling loop, {@code (samples, intermediates)} of the reference's {@code
 * DDIMSampler.sample} / {@code PLMSSampler.sample} (and {@code DDPM.p_sample_loop} with {@code
 * return_intermediates=True}): the samples and the {@code intermediates} dict ({@code x_inter} and
 * {@code pred_x0}; both lists start with {@code x_T}, as in the reference). The DDPM loop fills
 * {@code xInter} only.
 *
 * <p>Ownership: every array belongs to the caller, who closes it (or the manager it lives in, the
 * sampling model's manager unless {@code x_T} was supplied). The lists share arrays with each other
 * and with {@code samples}: {@code x_T} is the first entry of each non-empty list (and is the caller's own
 * array when it was passed in {@link SampleOptions#xT(NDArray)}), and {@code samples} is the last
 * entry of {@code xInter}. Close each distinct array once; DJL tolerates a repeated close.
 *
 * @param samples the final latents {@code x_0} [B, C, H, W], float32, still in the latent space (not
 *     decoded by the first stage)
 * @param xInter the logged samples {@code x_inter}: {@code x_T}, then the sample after every
 *     logged step (see {@link SampleOptions#logEveryT})
 * @param predX0 the logged x0 predictions {@code pred_x0}: {@code x_T}, then the prediction of
 *     every logged step; an empty list from the DDPM loop, which logs no x0 predictions
 */
public record SampleResult(NDArray samples, List<NDArray> xInter, List<NDArray> predX0) {}
