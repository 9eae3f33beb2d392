package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.noise.NoiseSource;

/**
 * What {@link DiffusionEngine} needs of its {@code first_stage_model}: encode images to latents and
 * decode latents to images (sgm's {@code first_stage_model.encode/decode}).
 */
public interface FirstStage {

    /**
     * {@code encode(x)}: the latent of {@code x} (a posterior sample for a KL autoencoder, drawn
     * through {@code noise}).
     *
     * @param x images {@code [B, C, H, W]}, scaled to {@code [-1, 1]}
     * @param noise the source of the posterior sample's noise (unused by deterministic stages)
     * @return the latent {@code [B, z_channels, H / f, W / f]} ({@code f} the downsampling factor,
     *     1 for an identity stage), a new array in the manager of {@code x}; the caller closes it
     */
    NDArray encode(NDArray x, NoiseSource noise);

    /**
     * {@code decode(z)}: the image of latent {@code z}.
     *
     * @param z latents {@code [B, z_channels, h, w]} (already divided by the engine's {@code
     *     scale_factor})
     * @return images {@code [B, C, h * f, w * f]}, roughly in {@code [-1, 1]}, a new array in the
     *     manager of {@code z}; the caller closes it
     */
    NDArray decode(NDArray z);
}
