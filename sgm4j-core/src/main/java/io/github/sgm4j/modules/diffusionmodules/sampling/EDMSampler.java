package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.util.Dims;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.EDMSampler}: Karras et al. (2022)
 * algorithm 2 with optional stochastic churn; subclasses supply the correction step.
 *
 * <p>{@code gamma = min(s_churn / (num_sigmas - 1), sqrt(2) - 1)} when {@code s_tmin <= sigma_i <=
 * s_tmax}, else 0; noise ({@code randn_like(x) * s_noise}) is drawn only when {@code gamma > 0}.
 */
public abstract class EDMSampler extends BaseDiffusionSampler {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param numSteps default step count, or null
     * @param sChurn stochastic churn {@code s_churn} (default 0: deterministic)
     * @param sTmin lowest sigma that gets churn, {@code s_tmin} (default 0)
     * @param sTmax highest sigma that gets churn, {@code s_tmax} (default +inf)
     * @param sNoise multiplier of the churn noise, {@code s_noise} (default 1)
     * @param verbose the reference's progress-bar flag; accepted, unused (default false)
     * @param device the reference's device; accepted, unused (default "cuda")
     */
    public record Params(Integer numSteps, double sChurn, double sTmin, double sTmax, double sNoise, boolean verbose,
            String device) {
        /**
         * sgm's defaults: s_churn 0, s_tmin 0, s_tmax inf, s_noise 1, verbose false, device "cuda".
         *
         * @param numSteps default step count, or null
         * @return the parameters
         */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, 0.0, 0.0, Double.POSITIVE_INFINITY, 1.0, false, "cuda");
        }
    }

    private final Params params;

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the sampler parameters
     */
    protected EDMSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, params.numSteps(), guider);
        this.params = params;
    }

    /**
     * The parameters.
     *
     * @return the sampler parameters
     */
    public Params params() {
        return params;
    }

    /**
     * {@code possible_correction_step}: the Euler step itself, or Heun's correction.
     *
     * @param loop the run's state
     * @param eulerStep {@code x + dt * d}
     * @param x the (churned) sample at {@code sigma_hat}
     * @param d the derivative {@code to_d(x, sigma_hat, denoised)}
     * @param dt {@code next_sigma - sigma_hat}, with trailing dims appended
     * @param nextSigma the next noise levels {@code [B]}
     * @return a new array (the caller owns it)
     */
    protected abstract NDArray possibleCorrectionStep(Loop loop, NDArray eulerStep, NDArray x, NDArray d, NDArray dt,
            NDArray nextSigma);

    /**
     * {@code sampler_step(sigma, next_sigma, denoiser, x, cond, uc, gamma)}: churn to {@code
     * sigma_hat = sigma * (gamma + 1)}, denoise, Euler step, optional correction.
     *
     * @param loop the run's state
     * @param sigma the current noise levels {@code [B]}
     * @param nextSigma the next noise levels {@code [B]}
     * @param x the current sample {@code [B, ...]}
     * @param gamma the churn factor; noise is drawn only when it is positive
     * @return {@code [x, denoised]}: the next sample and the step's denoised estimate
     */
    protected NDArray[] samplerStep(Loop loop, NDArray sigma, NDArray nextSigma, NDArray x, double gamma) {
        int nd = x.getShape().dimension();
        NDArray sigmaHat = F.mul(sigma, (float) (gamma + 1.0));
        if (gamma > 0) {
            NDArray eps = F.mul(loop.noise().randnLike(x), (float) params.sNoise());
            NDArray var = sigmaHat.square().sub(sigma.square());
            NDArray std = Dims.appendDims(var, nd).sqrt();
            x = x.add(eps.mul(std));
        }
        NDArray denoised = loop.denoise(x, sigmaHat);
        NDArray d = SamplingUtils.toD(x, sigmaHat, denoised);
        NDArray dt = Dims.appendDims(nextSigma.sub(sigmaHat), nd);
        NDArray eulerStep = x.add(dt.mul(d));
        return new NDArray[] {possibleCorrectionStep(loop, eulerStep, x, d, dt, nextSigma), denoised};
    }

    @Override
    protected NDArray run(Loop loop, NDArray x) {
        float[] sigmas = loop.sigmas();
        int numSigmas = sigmas.length;
        float tmin = (float) params.sTmin();
        float tmax = (float) params.sTmax();
        for (int i = 0; i < numSigmas - 1; i++) {
            double gamma = tmin <= sigmas[i] && sigmas[i] <= tmax
                    ? Math.min(params.sChurn() / (numSigmas - 1), Math.sqrt(2.0) - 1)
                    : 0.0;
            try (NDScope scope = new NDScope()) {
                NDArray sigma = loop.sigmaVec(x, sigmas[i]);
                NDArray next = loop.sigmaVec(x, sigmas[i + 1]);
                NDArray[] out = samplerStep(loop, sigma, next, x, gamma);
                x = loop.endStep(i, x, out[0], out[1]);
            }
        }
        return x;
    }
}
