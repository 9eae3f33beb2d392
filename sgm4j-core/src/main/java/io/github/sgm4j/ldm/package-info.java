/**
 * Ports of CompVis ldm's DDPM family ({@code ldm.models.diffusion.ddpm}, {@code ddim}, {@code plms}
 * and the schedule helpers of {@code ldm.modules.diffusionmodules.util}): {@link
 * io.github.sgm4j.ldm.DDPM}, {@link io.github.sgm4j.ldm.LatentDiffusion}, {@link
 * io.github.sgm4j.ldm.DiffusionWrapper}, {@link io.github.sgm4j.ldm.DDIMSampler}, {@link
 * io.github.sgm4j.ldm.PLMSSampler}, ldm's {@link io.github.sgm4j.ldm.ClassEmbedder} and {@link
 * io.github.sgm4j.ldm.LdmUtil} (beta schedules, DDIM timesteps and coefficients).
 */
package io.github.sgm4j.ldm;
