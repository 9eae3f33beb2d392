package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.EulerAncestralSampler} (k-diffusion's
 * {@code sample_euler_ancestral}).
 */
public class EulerAncestralSampler extends AncestralSampler {

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public EulerAncestralSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, guider, params);
    }

    @Override
    protected NDArray[] samplerStep(Loop loop, NDArray sigma, NDArray nextSigma, NDArray x) {
        SamplingUtils.AncestralStep st = SamplingUtils.getAncestralStep(sigma, nextSigma, params().eta());
        NDArray denoised = loop.denoise(x, sigma);
        NDArray xEuler = ancestralEulerStep(x, denoised, sigma, st.sigmaDown());
        return new NDArray[] {ancestralStep(loop, xEuler, nextSigma, st.sigmaUp()), denoised};
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.EulerAncestralSampler} params: {@code eta} (1.0),
     * {@code s_noise} (1.0), {@code discretization_config}, {@code num_steps} (null: given per call; must be at least 1), {@code guider_config}
     * (IdentityGuider when absent), {@code verbose} and {@code device} (sgm's "cuda"); {@code verbose} and
     * {@code device} are type-checked and have no effect: the arrays follow {@code x}'s device, progress goes
     * through {@link SamplerCallback}.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EulerAncestralSampler}
     */
    public static EulerAncestralSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new EulerAncestralSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getDouble("eta", d.eta()), p.getDouble("s_noise", d.sNoise()), p.getBoolean("verbose", false),
                p.getString("device", d.device())));
    }
}
