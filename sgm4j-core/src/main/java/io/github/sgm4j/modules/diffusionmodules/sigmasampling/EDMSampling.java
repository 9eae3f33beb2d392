package io.github.sgm4j.modules.diffusionmodules.sigmasampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.modules.diffusionmodules.sigma_sampling.EDMSampling}: log-normal sigmas,
 * {@code exp(p_mean + p_std * randn(n))} (Karras et al. 2022). {@code default(rand, randn(n))} is
 * evaluated eagerly in the reference, so a draw is consumed even when {@code rand} is given.
 */
public class EDMSampling implements SigmaSampler {

    /**
     * Constructor arguments with sgm's defaults: {@code log(sigma) ~ N(p_mean, p_std^2)}.
     *
     * @param pMean the mean of {@code log(sigma)}, {@code p_mean} (default -1.2)
     * @param pStd the standard deviation of {@code log(sigma)}, {@code p_std} (default 1.2)
     */
    public record Params(double pMean, double pStd) {
        /**
         * sgm's defaults: p_mean -1.2, p_std 1.2.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(-1.2, 1.2);
        }
    }

    private final Params params;

    /**
     * Builds the sampler.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public EDMSampling(Params params) {
        this.params = params;
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params params() {
        return params;
    }

    @Override
    public NDArray sample(NDManager manager, int n, NDArray rand, NoiseSource noise) {
        NDArray fresh = noise.randn(manager, new Shape(n));
        NDArray r = rand == null ? fresh : rand;
        // p_mean + p_std * r  (python scalars, float32 tensor)
        try (NDArray scaled = F.mul(r, (float) params.pStd());
                NDArray logSigma = F.add(scaled, (float) params.pMean())) {
            return logSigma.exp();
        } finally {
            fresh.close();
        }
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sigma_sampling.EDMSampling} params ({@code p_mean}, {@code p_std}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EDMSampling}
     */
    public static EDMSampling fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        return new EDMSampling(new Params(p.getDouble("p_mean", d.pMean()), p.getDouble("p_std", d.pStd())));
    }
}
