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

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param numSteps default step count, or null
     * @param eta ancestral noise scale (default 1)
     * @param sNoise multiplier of the added noise, {@code s_noise} (default 1)
     * @param verbose the reference's progress-bar flag; accepted, unused (default false)
     * @param device the reference's device; accepted, unused (default "cuda")
     */
    public record Params(Integer numSteps, double eta, double sNoise, boolean verbose, String device) {
        /**
         * sgm's defaults: eta 1, s_noise 1, verbose false, device "cuda".
         *
         * @param numSteps default step count, or null
         * @return the parameters
         */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, 1.0, 1.0, false, "cuda");
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
    protected AncestralSampler(Discretization discretization, Guider guider, Params params) {
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
     * {@code ancestral_euler_step(x, denoised, sigma, sigma_down)}: Euler step to {@code sigma_down}.
     *
     * @param x the current sample {@code [B, ...]}
     * @param denoised the denoised estimate, shaped like {@code x}
     * @param sigma the current noise levels {@code [B]}
     * @param sigmaDown the target noise levels {@code [B]}
     * @return a new array shaped like {@code x} (in the current step scope)
     */
    protected NDArray ancestralEulerStep(NDArray x, NDArray denoised, NDArray sigma, NDArray sigmaDown) {
        NDArray d = SamplingUtils.toD(x, sigma, denoised);
        NDArray dt = Dims.appendDims(sigmaDown.sub(sigma), x.getShape().dimension());
        return x.add(dt.mul(d));
    }

    /**
     * {@code ancestral_step(x, sigma, next_sigma, sigma_up)}: adds {@code randn_like(x) * s_noise *
     * sigma_up} where {@code next_sigma > 0}. Always draws the noise.
     *
     * @param loop the run's state (noise source)
     * @param x the sample after the Euler step
     * @param nextSigma the next noise levels {@code [B]}
     * @param sigmaUp the noise standard deviations {@code [B]}
     * @return a new array shaped like {@code x}
     */
    protected NDArray ancestralStep(Loop loop, NDArray x, NDArray nextSigma, NDArray sigmaUp) {
        int nd = x.getShape().dimension();
        NDArray noise = loop.noise().randnLike(x);
        NDArray noised = x.add(F.mul(noise, (float) params.sNoise()).mul(Dims.appendDims(sigmaUp, nd)));
        return SamplingUtils.whereSigmaPositive(nextSigma, noised, x);
    }

    /**
     * {@code sampler_step(sigma, next_sigma, denoiser, x, cond, uc)}.
     *
     * @param loop the run's state
     * @param sigma the current noise levels {@code [B]}
     * @param nextSigma the next noise levels {@code [B]}
     * @param x the current sample {@code [B, ...]}
     * @return {@code [x, denoised]}: the next sample and the step's denoised estimate
     */
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
