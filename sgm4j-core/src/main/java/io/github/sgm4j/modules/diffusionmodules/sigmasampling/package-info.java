/**
 * Sigma samplers for training ({@code sgm.modules.diffusionmodules.sigma_sampling}): EDM log-normal, discrete and zero.
 */
package io.github.sgm4j.modules.diffusionmodules.sigmasampling;
