/**
 * Ports of CompVis ldm's DDPM family ({@code ldm.models.diffusion.ddpm}, {@code ddim}, {@code plms}
 * and the schedule helpers of {@code ldm.modules.diffusionmodules.util}): {@link
 * io.github.sgm4j.ldm.DDPM}, {@link io.github.sgm4j.ldm.LatentDiffusion}, {@link
 * io.github.sgm4j.ldm.DiffusionWrapper}, {@link io.github.sgm4j.ldm.DDIMSampler}, {@link
 * io.github.sgm4j.ldm.PLMSSampler}, ldm's {@link io.github.sgm4j.ldm.ClassEmbedder} and {@link
 * io.github.sgm4j.ldm.LdmUtil} (beta schedules, DDIM timesteps and coefficients).
 *
 * <p>The samplers implement {@link io.github.sgm4j.ldm.LdmSampler} over any {@link
 * io.github.sgm4j.ldm.SamplingModel}, take their optional arguments as {@link
 * io.github.sgm4j.ldm.SampleOptions} and return a {@link io.github.sgm4j.ldm.SampleResult}. Latents
 * are batch-first {@code [B, C, H, W]} float32 arrays; timesteps are {@code [B]} int64 arrays. As
 * everywhere in sgm4j, a method that returns a new {@code NDArray} hands it to the caller, who
 * closes it; schedule buffers returned by a model stay owned by the model.
 */
package io.github.sgm4j.ldm;
