package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiserscaling.DenoiserScaling;
import io.github.sgm4j.nn.F;

/**
 * Port of {@code sgm.modules.diffusionmodules.loss_weighting.EDMWeighting}: {@code w = (sigma^2 +
 * sd^2) / (sigma sd)^2} (Karras et al. 2022, the inverse of {@code c_out^2}).
 */
public class EDMWeighting implements DiffusionLossWeighting {

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
     * Builds the weighting.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public EDMWeighting(Params params) {
        this.sigmaData = params.sigmaData();
    }

    @Override
    public NDArray apply(NDArray sigma) {
        try (NDArray num = DenoiserScaling.sigmaSqPlus(sigma, (float) (sigmaData * sigmaData));
                NDArray ssd = F.mul(sigma, (float) sigmaData);
                NDArray den = ssd.square()) {
            return num.div(den);
        }
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.loss_weighting.EDMWeighting} params ({@code sigma_data}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EDMWeighting}
     */
    public static EDMWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new EDMWeighting(new Params(p.getDouble("sigma_data", Params.defaults().sigmaData())));
    }
}
