/**
 * Samplers ({@code sgm.modules.diffusionmodules.sampling}): Euler/Heun EDM, Euler ancestral, DPM++ 2S ancestral, DPM++ 2M and linear multistep, built from the pure functions of {@code SamplingUtils} ({@code sampling_utils.py}); every random draw through an injected noise source.
 */
package io.github.sgm4j.modules.diffusionmodules.sampling;
