package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser_scaling.EDMScaling}: {@code c_skip =
 * sd^2/(s^2+sd^2)}, {@code c_out = s sd / sqrt(s^2+sd^2)}, {@code c_in = 1/sqrt(s^2+sd^2)}, {@code
 * c_noise = 0.25 log s}.
 */
public class EDMScaling implements DenoiserScaling {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param sigmaData the data standard deviation {@code sigma_data} (default 0.5)
     */
    public record Params(double sigmaData) {
        /**
         * sgm's default sigma_data 0.5.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(0.5);
        }
    }

    private final double sigmaData;

    /**
     * Builds the scaling.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public EDMScaling(Params params) {
        this.sigmaData = params.sigmaData();
    }

    @Override
    public Scalings apply(NDArray sigma) {
        float sd2 = (float) (sigmaData * sigmaData);
        try (NDArray denom = DenoiserScaling.sigmaSqPlus(sigma, sd2);
                NDArray root = denom.sqrt();
                NDArray sSd = F.mul(sigma, (float) sigmaData);
                NDArray log = sigma.log()) {
            // c_skip = sd**2 / (sigma**2 + sd**2): python scalar / tensor = reciprocal * scalar in torch
            NDArray cSkip = DenoiserScaling.rdiv(sd2, denom);
            NDArray cOut = sSd.div(root);
            NDArray cIn = DenoiserScaling.rdiv(1f, root);
            NDArray cNoise = F.mul(log, 0.25f);
            return new Scalings(cSkip, cOut, cIn, cNoise);
        }
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.denoiser_scaling.EDMScaling} params ({@code sigma_data}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EDMScaling}
     */
    public static EDMScaling fromConfig(ConfigNode p, Instantiator inst) {
        return new EDMScaling(new Params(p.getDouble("sigma_data", Params.defaults().sigmaData())));
    }
}
