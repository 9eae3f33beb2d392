package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiserscaling.DenoiserScaling;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.util.Dims;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.DPMPP2MSampler}: DPM-Solver++(2M) (Lu et al.
 * 2022), a deterministic two-step multistep solver in log-sigma time. The first step and the step
 * to sigma 0 are plain first-order steps.
 */
public class DPMPP2MSampler extends BaseDiffusionSampler {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param numSteps default step count, or null
     * @param verbose the reference's progress-bar flag; accepted, unused (default false)
     * @param device the reference's device; accepted, unused (default "cuda")
     */
    public record Params(Integer numSteps, boolean verbose, String device) {
        /**
         * sgm's defaults: verbose false, device "cuda".
         *
         * @param numSteps default step count, or null
         * @return the parameters with the reference's defaults
         */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, false, "cuda");
        }
    }

    private final Params params;

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public DPMPP2MSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, params.numSteps(), guider);
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
     * {@code sampler_step(old_denoised, previous_sigma, sigma, next_sigma, ...)}; returns {@code [x,
     * denoised]}. {@code previousSigma} and {@code oldDenoised} are null on the first step.
     *
     * @param loop the run's state
     * @param oldDenoised the previous step's denoised estimate, or null on the first step
     * @param previousSigma the previous noise levels {@code [B]}, or null on the first step
     * @param sigma the current noise levels {@code [B]}
     * @param nextSigma the next noise levels {@code [B]}
     * @param x the current sample {@code [B, ...]}
     * @return {@code [x, denoised]}: the next sample and the step's denoised estimate
     */
    protected NDArray[] samplerStep(Loop loop, NDArray oldDenoised, NDArray previousSigma, NDArray sigma,
            NDArray nextSigma, NDArray x) {
        int nd = x.getShape().dimension();
        NDArray denoised = loop.denoise(x, sigma);
        // get_variables
        NDArray t = SamplingUtils.toNegLogSigma(sigma);
        NDArray tNext = SamplingUtils.toNegLogSigma(nextSigma);
        NDArray h = tNext.sub(t);
        // get_mult
        NDArray mult1 = Dims.appendDims(SamplingUtils.toSigma(tNext).div(SamplingUtils.toSigma(t)), nd);
        NDArray mult2 = Dims.appendDims(SamplingUtils.expm1(h.neg()), nd);

        NDArray xStandard = mult1.mul(x).sub(mult2.mul(denoised));
        if (oldDenoised == null || nextSigma.sum().getFloat() < 1e-14) {
            // save a network evaluation if all noise levels are 0 or on the first step
            return new NDArray[] {xStandard, denoised};
        }
        NDArray hLast = t.sub(SamplingUtils.toNegLogSigma(previousSigma));
        NDArray r = hLast.div(h);
        // mult3 = 1 + 1 / (2 r), mult4 = 1 / (2 r)
        NDArray twoR = F.mul(r, 2.0f);
        NDArray inv = DenoiserScaling.rdiv(1f, twoR);
        NDArray mult3 = Dims.appendDims(F.add(inv, 1.0f), nd);
        NDArray mult4 = Dims.appendDims(inv, nd);

        NDArray denoisedD = mult3.mul(denoised).sub(mult4.mul(oldDenoised));
        NDArray xAdvanced = mult1.mul(x).sub(mult2.mul(denoisedD));
        // apply correction if noise level is not 0 and not first step
        return new NDArray[] {SamplingUtils.whereSigmaPositive(nextSigma, xAdvanced, xStandard), denoised};
    }

    @Override
    protected NDArray run(Loop loop, NDArray x) {
        float[] sigmas = loop.sigmas();
        NDArray oldDenoised = null;
        try {
            for (int i = 0; i < sigmas.length - 1; i++) {
                try (NDScope scope = new NDScope()) {
                    NDArray previous = i == 0 ? null : loop.sigmaVec(x, sigmas[i - 1]);
                    NDArray sigma = loop.sigmaVec(x, sigmas[i]);
                    NDArray next = loop.sigmaVec(x, sigmas[i + 1]);
                    NDArray[] out = samplerStep(loop, oldDenoised, previous, sigma, next, x);
                    NDScope.unregister(out[1]);
                    if (oldDenoised != null) {
                        oldDenoised.close();
                    }
                    oldDenoised = out[1];
                    x = loop.endStep(i, x, out[0], out[1]);
                }
            }
        } finally {
            if (oldDenoised != null) {
                oldDenoised.close();
            }
        }
        return x;
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.DPMPP2MSampler} params:
     * {@code discretization_config}, {@code num_steps} (null: given per call; must be at least 1), {@code guider_config}
     * (IdentityGuider when absent), {@code verbose} and {@code device} (sgm's "cuda"); {@code verbose} and
     * {@code device} are type-checked and have no effect: the arrays follow {@code x}'s device, progress goes
     * through {@link SamplerCallback}.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code DPMPP2MSampler}
     */
    public static DPMPP2MSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new DPMPP2MSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getBoolean("verbose", false), p.getString("device", d.device())));
    }
}
