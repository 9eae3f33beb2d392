package io.github.sgm4j.modules.diffusionmodules.discretizer;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization}: the sigmas
 * {@code sqrt((1 - alphas_cumprod) / alphas_cumprod)} of the DDPM "linear" beta schedule (betas
 * linear in sqrt), as used by SD 1.x/2.x and SDXL.
 *
 * <p>{@code alphas_cumprod} is float64 (numpy cumprod); {@code (1 - a) / a} is computed in double,
 * cast to float32 and only then square-rooted in float32, exactly as the reference.
 * {@link #getSigmas} returns them descending (largest noise first).
 */
public class LegacyDDPMDiscretization extends Discretization {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param linearStart the first beta, {@code linear_start} (default 0.00085)
     * @param linearEnd the last beta, {@code linear_end} (default 0.0120)
     * @param numTimesteps the number of DDPM timesteps, {@code num_timesteps} (default 1000)
     */
    public record Params(double linearStart, double linearEnd, int numTimesteps) {
        /**
         * sgm's defaults: 0.00085, 0.012, 1000.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(0.00085, 0.0120, 1000);
        }
    }

    private final Params params;
    private final double[] alphasCumprod;

    /**
     * Builds the schedule.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public LegacyDDPMDiscretization(Params params) {
        if (params.numTimesteps() < 1) {
            throw new IllegalArgumentException("LegacyDDPMDiscretization: num_timesteps must be >= 1, got "
                    + params.numTimesteps());
        }
        this.params = params;
        double[] betas = linearBetas(params.numTimesteps(), params.linearStart(), params.linearEnd());
        alphasCumprod = new double[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            acc *= 1.0 - betas[i];
            alphasCumprod[i] = acc;
        }
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
     * {@code alphas_cumprod} (float64, a copy).
     *
     * @return a copy of the {@code num_timesteps} cumulative alpha products
     */
    public double[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /**
     * {@code make_beta_schedule("linear", n, start, end)}: {@code torch.linspace(sqrt(start),
     * sqrt(end), n, dtype=float64) ** 2}.
     *
     * @param n the number of timesteps
     * @param linearStart the first beta ({@code linear_start})
     * @param linearEnd the last beta ({@code linear_end})
     * @return the {@code n} betas
     */
    public static double[] linearBetas(int n, double linearStart, double linearEnd) {
        double start = Math.sqrt(linearStart);
        double end = Math.sqrt(linearEnd);
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start * start;
            return out;
        }
        double step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            double v = i < halfway ? start + step * i : end - step * (n - 1 - i);
            out[i] = v * v;
        }
        return out;
    }

    /**
     * Port of {@code generate_roughly_equally_spaced_steps(num_substeps, max_step)}: {@code
     * np.linspace(max_step - 1, 0, num_substeps, endpoint=False).astype(int)[::-1]}.
     *
     * @param numSubsteps the number of steps to pick
     * @param maxStep the number of timesteps to pick from
     * @return the ascending step indices
     * @throws IllegalArgumentException if {@code numSubsteps < 1}
     */
    public static long[] generateRoughlyEquallySpacedSteps(int numSubsteps, int maxStep) {
        if (numSubsteps < 1) {
            throw new IllegalArgumentException("num_substeps must be >= 1, got " + numSubsteps);
        }
        double start = maxStep - 1;
        double step = (0.0 - start) / numSubsteps;
        long[] out = new long[numSubsteps];
        for (int i = 0; i < numSubsteps; i++) {
            double y = step == 0 ? start : i * step + start;
            out[numSubsteps - 1 - i] = (long) y;
        }
        return out;
    }

    @Override
    public float[] getSigmas(int n) {
        int t = params.numTimesteps();
        double[] ac;
        if (n < t) {
            long[] timesteps = generateRoughlyEquallySpacedSteps(n, t);
            ac = new double[n];
            for (int i = 0; i < n; i++) {
                ac[i] = alphasCumprod[(int) timesteps[i]];
            }
        } else if (n == t) {
            ac = alphasCumprod;
        } else {
            throw new IllegalArgumentException(
                    "LegacyDDPMDiscretization: n = " + n + " exceeds num_timesteps = " + t);
        }
        float[] sigmas = new float[ac.length];
        for (int i = 0; i < ac.length; i++) {
            float ratio = (float) ((1 - ac[i]) / ac[i]);
            // torch.flip(to_torch(...) ** 0.5): descending
            sigmas[ac.length - 1 - i] = (float) Math.sqrt(ratio);
        }
        return sigmas;
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization} params.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code LegacyDDPMDiscretization}
     */
    public static LegacyDDPMDiscretization fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        return new LegacyDDPMDiscretization(new Params(p.getDouble("linear_start", d.linearStart()),
                p.getDouble("linear_end", d.linearEnd()), p.getInt("num_timesteps", d.numTimesteps())));
    }
}
