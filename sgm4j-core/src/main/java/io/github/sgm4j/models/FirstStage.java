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
     */
    NDArray encode(NDArray x, NoiseSource noise);

    /** {@code decode(z)}: the image of latent {@code z}. */
    NDArray decode(NDArray z);
}
