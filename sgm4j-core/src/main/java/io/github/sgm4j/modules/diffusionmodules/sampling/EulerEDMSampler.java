package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.EulerEDMSampler}: Euler steps of the
 * probability-flow ODE with optional churn (Karras et al. 2022, algorithm 2 without the second
 * order correction). See {@link BaseDiffusionSampler} for the differences from the reference
 * (no in-place scaling of the caller's x, injected noise, scoped steps, callback).
 */
public class EulerEDMSampler extends EDMSampler {

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public EulerEDMSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, guider, params);
    }

    @Override
    protected NDArray possibleCorrectionStep(Loop loop, NDArray eulerStep, NDArray x, NDArray d, NDArray dt,
            NDArray nextSigma) {
        return eulerStep;
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.EulerEDMSampler} params ({@code
     * discretization_config}, {@code num_steps}, {@code guider_config}, {@code s_churn}, {@code s_tmin},
     * {@code s_tmax}, {@code s_noise}, {@code verbose}, {@code device} — the device is accepted; sgm4j
     * follows the tensors' device).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EulerEDMSampler}
     */
    public static EulerEDMSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new EulerEDMSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getDouble("s_churn", d.sChurn()), p.getDouble("s_tmin", d.sTmin()), p.getDouble("s_tmax", d.sTmax()),
                p.getDouble("s_noise", d.sNoise()), p.getBoolean("verbose", false), p.getString("device", d.device())));
    }
}
