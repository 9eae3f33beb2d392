package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.util.Dims;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.AncestralSampler}: steps down to {@code
 * sigma_down}, then adds fresh noise of size {@code sigma_up} ({@link
 * SamplingUtils#getAncestralStep}).
 *
 * <p>Like the reference, the noise {@code randn_like(x)} is drawn at every step, including the last
 * one where {@code next_sigma == 0} and the draw is discarded, so recorded noise replays exactly.
 */
public abstract class AncestralSampler extends BaseDiffusionSampler {

    /** Constructor arguments with sgm's defaults. */
    public record Params(Integer numSteps, double eta, double sNoise, boolean verbose, String device) {
        /** sgm's defaults: eta 1, s_noise 1, verbose false, device "cuda". */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, 1.0, 1.0, false, "cuda");
        }
    }

    private final Params params;

    /** Builds the sampler. */
    protected AncestralSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, params.numSteps(), guider);
        this.params = params;
    }

    /** The parameters. */
    public Params params() {
        return params;
    }

    /** {@code ancestral_euler_step(x, denoised, sigma, sigma_down)}: Euler step to {@code sigma_down}. */
    protected NDArray ancestralEulerStep(NDArray x, NDArray denoised, NDArray sigma, NDArray sigmaDown) {
        NDArray d = SamplingUtils.toD(x, sigma, denoised);
        NDArray dt = Dims.appendDims(sigmaDown.sub(sigma), x.getShape().dimension());
        return x.add(dt.mul(d));
    }

    /** {@code ancestral_step(x, sigma, next_sigma, sigma_up)}: adds noise where {@code next_sigma > 0}. */
    protected NDArray ancestralStep(Loop loop, NDArray x, NDArray nextSigma, NDArray sigmaUp) {
        int nd = x.getShape().dimension();
        NDArray noise = loop.noise().randnLike(x);
        NDArray noised = x.add(F.mul(noise, (float) params.sNoise()).mul(Dims.appendDims(sigmaUp, nd)));
        return SamplingUtils.whereSigmaPositive(nextSigma, noised, x);
    }

    /** {@code sampler_step(sigma, next_sigma, denoiser, x, cond, uc)}; returns {@code [x, denoised]}. */
    protected abstract NDArray[] samplerStep(Loop loop, NDArray sigma, NDArray nextSigma, NDArray x);

    @Override
    protected NDArray run(Loop loop, NDArray x) {
        float[] sigmas = loop.sigmas();
        for (int i = 0; i < sigmas.length - 1; i++) {
            try (NDScope scope = new NDScope()) {
                NDArray sigma = loop.sigmaVec(x, sigmas[i]);
                NDArray next = loop.sigmaVec(x, sigmas[i + 1]);
                NDArray[] out = samplerStep(loop, sigma, next, x);
                x = loop.endStep(i, x, out[0], out[1]);
            }
        }
        return x;
    }
}
