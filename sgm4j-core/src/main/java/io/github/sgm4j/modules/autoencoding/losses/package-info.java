/**
 * First-stage (autoencoder) training losses: ldm's {@code ldm.modules.losses.LPIPSWithDiscriminator}
 * (contperceptual: L1 + LPIPS reconstruction with a learned log-variance, KL, and a PatchGAN with
 * the adaptive discriminator weight).
 */
package io.github.sgm4j.modules.autoencoding.losses;
