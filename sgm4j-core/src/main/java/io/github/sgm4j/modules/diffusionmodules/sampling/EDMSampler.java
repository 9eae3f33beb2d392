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

    /** Constructor arguments with sgm's defaults. */
    public record Params(Integer numSteps, double sChurn, double sTmin, double sTmax, double sNoise, boolean verbose,
            String device) {
        /** sgm's defaults: s_churn 0, s_tmin 0, s_tmax inf, s_noise 1, verbose false, device "cuda". */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, 0.0, 0.0, Double.POSITIVE_INFINITY, 1.0, false, "cuda");
        }
    }

    private final Params params;

    /** Builds the sampler. */
    protected EDMSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, params.numSteps(), guider);
        this.params = params;
    }

    /** The parameters. */
    public Params params() {
        return params;
    }

    /**
     * {@code possible_correction_step}: the Euler step itself, or Heun's correction.
     *
     * @return a new array (the caller owns it)
     */
    protected abstract NDArray possibleCorrectionStep(Loop loop, NDArray eulerStep, NDArray x, NDArray d, NDArray dt,
            NDArray nextSigma);

    /** {@code sampler_step(sigma, next_sigma, denoiser, x, cond, uc, gamma)}; returns {@code [x, denoised]}. */
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
