package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.nn.F;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.HeunEDMSampler}: Karras et al. (2022)
 * algorithm 2 (Heun's second-order correction, skipped when every next sigma is 0).
 */
public class HeunEDMSampler extends EDMSampler {

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public HeunEDMSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, guider, params);
    }

    @Override
    protected NDArray possibleCorrectionStep(Loop loop, NDArray eulerStep, NDArray x, NDArray d, NDArray dt,
            NDArray nextSigma) {
        if (nextSigma.sum().getFloat() < 1e-14) {
            // save a network evaluation if all noise levels are 0
            return eulerStep;
        }
        int nd = x.getShape().dimension();
        NDArray denoised = loop.denoise(eulerStep, nextSigma);
        NDArray dNew = SamplingUtils.toD(eulerStep, nextSigma, denoised);
        NDArray dPrime = F.div(d.add(dNew), 2.0f);
        // apply correction if noise level is not 0
        return SamplingUtils.whereSigmaPositive(nextSigma, x.add(dPrime.mul(dt)), eulerStep);
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.HeunEDMSampler} params ({@code
     * discretization_config}, {@code num_steps}, {@code guider_config}, {@code s_churn}, {@code s_tmin},
     * {@code s_tmax}, {@code s_noise}, {@code verbose}, {@code device} — the device is accepted; sgm4j
     * follows the tensors' device).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code HeunEDMSampler}
     */
    public static HeunEDMSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new HeunEDMSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getDouble("s_churn", d.sChurn()), p.getDouble("s_tmin", d.sTmin()), p.getDouble("s_tmax", d.sTmax()),
                p.getDouble("s_noise", d.sNoise()), p.getBoolean("verbose", false), p.getString("device", d.device())));
    }
}
