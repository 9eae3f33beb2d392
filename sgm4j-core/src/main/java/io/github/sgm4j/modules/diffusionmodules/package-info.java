/**
 * Ports of {@code sgm.modules.diffusionmodules}: the mathematics between the network and the user.
 *
 * <ul>
 *   <li>{@link io.github.sgm4j.modules.diffusionmodules.Denoiser} / {@link
 *       io.github.sgm4j.modules.diffusionmodules.DiscreteDenoiser} with the scalings ({@code
 *       EDMScaling}, {@code EpsScaling}, {@code VScaling}, {@code VScalingWithEDMcNoise});
 *   <li>discretizations ({@code EDMDiscretization}, {@code LegacyDDPMDiscretization});
 *   <li>guiders ({@code VanillaCFG}, {@code IdentityGuider});
 *   <li>samplers ({@code EulerEDMSampler}, {@code HeunEDMSampler}, {@code EulerAncestralSampler},
 *       {@code DPMPP2SAncestralSampler}, {@code DPMPP2MSampler}, {@code LinearMultistepSampler})
 *       built from the pure functions of {@link io.github.sgm4j.modules.diffusionmodules.SamplingUtils};
 *   <li>training: sigma samplers ({@code EDMSampling}, {@code DiscreteSampling}, {@code
 *       ZeroSampler}), loss weightings and {@link
 *       io.github.sgm4j.modules.diffusionmodules.StandardDiffusionLoss}.
 * </ul>
 *
 * <p>Every random draw goes through an injected {@link io.github.sgm4j.noise.NoiseSource} in the
 * reference's order and count; arguments are never modified in place.
 */
package io.github.sgm4j.modules.diffusionmodules;
