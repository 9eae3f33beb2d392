package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.models.autoencoder.IdentityFirstStage}: a first stage that passes images
 * through unchanged (pixel-space diffusion such as the MNIST toy models). It has no tensors.
 */
public class IdentityFirstStage extends Module implements FirstStage {

    /**
     * Builds from config; sgm's IdentityFirstStage takes no parameters (extra ones are accepted and
     * unused, as there).
     *
     * @param params the {@code params} node of the config (all keys are marked as used)
     * @param inst the instantiator (unused)
     * @return a new identity first stage
     */
    public static IdentityFirstStage fromConfig(ConfigNode params, Instantiator inst) {
        params.ignore(params.keys().toArray(new String[0]));
        return new IdentityFirstStage();
    }

    @Override
    public NDArray encode(NDArray x, NoiseSource noise) {
        return io.github.sgm4j.nn.F.alias(x);
    }

    @Override
    public NDArray decode(NDArray z) {
        return io.github.sgm4j.nn.F.alias(z);
    }
}
