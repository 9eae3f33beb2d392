/**
 * Denoiser scalings ({@code sgm.modules.diffusionmodules.denoiser_scaling}): c_skip, c_out, c_in, c_noise for EDM, eps and v parameterisations.
 */
package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;
