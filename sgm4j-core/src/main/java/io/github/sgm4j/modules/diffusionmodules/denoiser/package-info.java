/**
 * Denoisers ({@code sgm.modules.diffusionmodules.denoiser}): {@code Denoiser} and {@code DiscreteDenoiser} turn the network into D(x, sigma) with a scaling.
 */
package io.github.sgm4j.modules.diffusionmodules.denoiser;
