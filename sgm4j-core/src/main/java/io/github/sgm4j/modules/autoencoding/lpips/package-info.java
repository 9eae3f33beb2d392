/**
 * Perceptual and adversarial building blocks of the first-stage losses: sgm's {@code
 * sgm.modules.autoencoding.lpips} (the same code as taming-transformers' {@code
 * taming.modules.losses.lpips}, {@code taming.modules.discriminator.model} and {@code
 * taming.modules.util.ActNorm}): {@link io.github.sgm4j.modules.autoencoding.lpips.LPIPS}, {@link
 * io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator}, {@link
 * io.github.sgm4j.modules.autoencoding.lpips.ActNorm} and the GAN helpers of {@link
 * io.github.sgm4j.modules.autoencoding.lpips.VqPerceptual}.
 */
package io.github.sgm4j.modules.autoencoding.lpips;
