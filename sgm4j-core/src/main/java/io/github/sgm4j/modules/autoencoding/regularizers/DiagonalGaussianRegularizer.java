package io.github.sgm4j.modules.autoencoding.regularizers;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.modules.autoencoding.regularizers.DiagonalGaussianRegularizer}: the moments
 * become a diagonal Gaussian posterior; the latent is a sample ({@code sample=True}) or the mode;
 * the log holds {@code kl_loss = sum(kl) / batch}.
 */
public final class DiagonalGaussianRegularizer {

    /**
     * The latent and the regularization log.
     *
     * @param z the latent
     * @param klLoss {@code sum(posterior.kl()) / B} (0-d)
     */
    public record Result(NDArray z, NDArray klLoss) {}

    private final boolean sample;

    /**
     * {@code DiagonalGaussianRegularizer(sample)}.
     *
     * @param sample whether to sample the latent (else take the mode)
     */
    public DiagonalGaussianRegularizer(boolean sample) {
        this.sample = sample;
    }

    /**
     * Builds from config ({@code sample}, default true).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code DiagonalGaussianRegularizer}
     */
    public static DiagonalGaussianRegularizer fromConfig(ConfigNode p, Instantiator inst) {
        return new DiagonalGaussianRegularizer(p.getBoolean("sample", true));
    }

    /**
     * Whether the latent is sampled (else the mode).
     *
     * @return whether the latent is sampled
     */
    public boolean isSample() {
        return sample;
    }

    /**
     * {@code forward(z)}: (latent, kl_loss); the sample draws {@code randn(mean.shape)} from {@code noise}.
     *
     * @param moments the encoder output {@code [B, 2C, H, W]}
     * @param noise the source of the sample draw (unused when not sampling)
     * @return the latent and the KL loss, new arrays the caller closes
     */
    public Result apply(NDArray moments, NoiseSource noise) {
        try (DiagonalGaussianDistribution posterior = new DiagonalGaussianDistribution(moments)) {
            NDArray z = sample ? posterior.sample(noise) : posterior.mode();
            try (NDArray kl = posterior.kl();
                    NDArray s = kl.sum()) {
                return new Result(z, F.div(s, kl.getShape().get(0)));
            }
        }
    }
}
