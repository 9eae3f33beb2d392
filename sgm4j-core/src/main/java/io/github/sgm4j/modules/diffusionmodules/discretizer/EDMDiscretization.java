package io.github.sgm4j.modules.diffusionmodules.discretizer;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.modules.diffusionmodules.discretizer.EDMDiscretization}: Karras et al.
 * (2022) eq. 5, {@code sigma_i = (max^(1/rho) + ramp_i (min^(1/rho) - max^(1/rho)))^rho}.
 *
 * <p>Rounding follows the reference: {@code ramp = torch.linspace(0, 1, n)} in float32 (torch
 * fills the first half from the start and the second half from the end), the {@code *_inv_rho}
 * constants in double, every tensor operation in float32.
 */
public class EDMDiscretization extends Discretization {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param sigmaMin the smallest sigma, {@code sigma_min} (default 0.002)
     * @param sigmaMax the largest sigma, {@code sigma_max} (default 80)
     * @param rho the schedule exponent (default 7)
     */
    public record Params(double sigmaMin, double sigmaMax, double rho) {
        /**
         * sgm's defaults: sigma_min 0.002, sigma_max 80, rho 7.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(0.002, 80.0, 7.0);
        }
    }

    private final Params params;

    /**
     * Builds the schedule.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public EDMDiscretization(Params params) {
        if (!(params.sigmaMin() > 0) || !(params.sigmaMax() > params.sigmaMin()) || !(params.rho() > 0)) {
            throw new IllegalArgumentException("EDMDiscretization: need 0 < sigma_min < sigma_max and rho > 0, got "
                    + params);
        }
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

    /**
     * {@code torch.linspace(start, end, n)} in float32, evaluated symmetrically as torch does.
     *
     * @param start the first value
     * @param end the last value
     * @param n the number of values
     * @return {@code n} float32 values
     */
    public static float[] linspaceF32(float start, float end, int n) {
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < halfway ? start + step * (float) i : end - step * (float) (n - 1 - i);
        }
        return out;
    }

    @Override
    public float[] getSigmas(int n) {
        float[] ramp = linspaceF32(0f, 1f, n);
        double minInvRho = Math.pow(params.sigmaMin(), 1 / params.rho());
        double maxInvRho = Math.pow(params.sigmaMax(), 1 / params.rho());
        float span = (float) (minInvRho - maxInvRho);
        float maxF = (float) maxInvRho;
        float rhoF = (float) params.rho();
        float[] sigmas = new float[n];
        for (int i = 0; i < n; i++) {
            float base = maxF + ramp[i] * span;
            sigmas[i] = (float) Math.pow(base, rhoF);
        }
        return sigmas;
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.discretizer.EDMDiscretization} params.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EDMDiscretization}
     */
    public static EDMDiscretization fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        return new EDMDiscretization(new Params(p.getDouble("sigma_min", d.sigmaMin()), p.getDouble("sigma_max", d.sigmaMax()),
                p.getDouble("rho", d.rho())));
    }
}
