/**
 * Ports of {@code sgm.modules}: {@code LitEma} (and its {@code EmaScope}) and the subpackages
 * ({@code attention}, {@code encoders}, {@code autoencoding}, {@code distributions},
 * {@code diffusionmodules.*}).
 *
 * <p>{@code diffusionmodules.*} ports {@code sgm.modules.diffusionmodules}: the mathematics between
 * the network and the user, split by role like sgm's files.
 *
 * <ul>
 *   <li>{@code denoiser} ({@code denoiser.py}) and {@code denoiserscaling} ({@code
 *       denoiser_scaling.py}): the network wrapped into a denoiser D(x, sigma);
 *   <li>{@code discretizer} ({@code discretizer.py}): sigma schedules for sampling;
 *   <li>{@code guiders} ({@code guiders.py}): classifier-free guidance;
 *   <li>{@code sampling} ({@code sampling.py}, {@code sampling_utils.py}): the samplers, built
 *       from small pure functions;
 *   <li>{@code sigmasampling} ({@code sigma_sampling.py}), {@code lossweighting} ({@code
 *       loss_weighting.py}) and {@code loss} ({@code loss.py}): training;
 *   <li>{@code wrappers} ({@code wrappers.py}) and {@code util} ({@code util.py}): the network
 *       wrapper and timestep embeddings;
 *   <li>{@code model} ({@code model.py}: the autoencoder's encoder/decoder) and {@code openaimodel}
 *       ({@code openaimodel.py}: the UNet).
 * </ul>
 *
 * <p>Every random draw goes through an injected {@link io.github.sgm4j.noise.NoiseSource} in the
 * reference's order and count; arguments are never modified in place.
 */
package io.github.sgm4j.modules;
