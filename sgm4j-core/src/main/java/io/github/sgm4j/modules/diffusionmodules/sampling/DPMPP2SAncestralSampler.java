package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.util.Dims;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.DPMPP2SAncestralSampler}: ancestral
 * DPM-Solver++(2S) (Lu et al. 2022), in log-sigma time {@code t = -log sigma}.
 */
public class DPMPP2SAncestralSampler extends AncestralSampler {

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public DPMPP2SAncestralSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, guider, params);
    }

    @Override
    protected NDArray[] samplerStep(Loop loop, NDArray sigma, NDArray nextSigma, NDArray x) {
        int nd = x.getShape().dimension();
        SamplingUtils.AncestralStep st = SamplingUtils.getAncestralStep(sigma, nextSigma, params().eta());
        NDArray sigmaDown = st.sigmaDown();
        NDArray denoised = loop.denoise(x, sigma);
        NDArray xEuler = ancestralEulerStep(x, denoised, sigma, sigmaDown);
        NDArray xNext;
        if (sigmaDown.sum().getFloat() < 1e-14) {
            // save a network evaluation if all noise levels are 0
            xNext = xEuler;
        } else {
            // get_variables: t, t_next = -log(sigma), -log(sigma_down); h = t_next - t; s = t + 0.5 h
            NDArray t = SamplingUtils.toNegLogSigma(sigma);
            NDArray tNext = SamplingUtils.toNegLogSigma(sigmaDown);
            NDArray h = tNext.sub(t);
            NDArray s = t.add(F.mul(h, 0.5f));
            // get_mult
            NDArray sigmaT = SamplingUtils.toSigma(t);
            NDArray sigmaS = SamplingUtils.toSigma(s);
            NDArray mult1 = Dims.appendDims(sigmaS.div(sigmaT), nd);
            NDArray mult2 = Dims.appendDims(SamplingUtils.expm1(F.mul(h, -0.5f)), nd);
            NDArray mult3 = Dims.appendDims(SamplingUtils.toSigma(tNext).div(sigmaT), nd);
            NDArray mult4 = Dims.appendDims(SamplingUtils.expm1(h.neg()), nd);

            NDArray x2 = mult1.mul(x).sub(mult2.mul(denoised));
            NDArray denoised2 = loop.denoise(x2, sigmaS);
            NDArray xDpmpp2s = mult3.mul(x).sub(mult4.mul(denoised2));
            // apply correction if noise level is not 0
            xNext = SamplingUtils.whereSigmaPositive(sigmaDown, xDpmpp2s, xEuler);
        }
        return new NDArray[] {ancestralStep(loop, xNext, nextSigma, st.sigmaUp()), denoised};
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.DPMPP2SAncestralSampler} params: {@code eta} (1.0),
     * {@code s_noise} (1.0), {@code discretization_config}, {@code num_steps} (null: given per call; must be at least 1), {@code guider_config}
     * (IdentityGuider when absent), {@code verbose} and {@code device} (sgm's "cuda"); {@code verbose} and
     * {@code device} are type-checked and have no effect: the arrays follow {@code x}'s device, progress goes
     * through {@link SamplerCallback}.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code DPMPP2SAncestralSampler}
     */
    public static DPMPP2SAncestralSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new DPMPP2SAncestralSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getDouble("eta", d.eta()), p.getDouble("s_noise", d.sNoise()), p.getBoolean("verbose", false),
                p.getString("device", d.device())));
    }
}
