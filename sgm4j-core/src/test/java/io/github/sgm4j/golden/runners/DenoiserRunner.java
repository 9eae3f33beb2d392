package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DiscreteDenoiser;
import io.github.sgm4j.modules.diffusionmodules.denoiserscaling.DenoiserScaling;
import io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper;
import io.github.sgm4j.util.Dims;
import java.util.Map;

/**
 * Cases {@code denoiser_*}: denoisers built from config over {@code OpenAIWrapper(UNet)};
 * {@code denoiser_scalings} checks each named denoiser's scalings and output, {@code
 * denoiser_discrete} the sigma table, quantisation helpers and output (the {@code denoiser.sigmas}
 * buffer is loaded strictly from the case weights).
 */
public class DenoiserRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("denoiser_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        OpenAIWrapper network = NetworkCases.network(g);
        Map<String, NDArray> cond = NetworkCases.cond(g, "cond");
        NDArray x = g.input("x");
        NDArray sigma = g.input("sigma");
        Instantiator inst = new Instantiator();
        if (g.config().has("denoisers")) {
            ConfigNode all = g.config("denoisers");
            for (String name : all.keys()) {
                Denoiser den = inst.instantiate(all.getNode(name), Denoiser.class);
                checkScalings(check, name + ".", den.getScaling(), sigma, x.getShape().dimension());
                check.check(name + ".denoised", den.forward(network, x, sigma, cond));
            }
            return;
        }
        if (!(NetworkCases.denoiser(g, inst, "denoiser") instanceof DiscreteDenoiser den)) {
            throw new IllegalArgumentException("case config.denoiser must be a DiscreteDenoiser (or use config.denoisers)");
        }
        NDArray q = g.input("sigma_query");
        check.check("sigmas", den.sigmas());
        check.check("sigma_to_idx", den.sigmaToIdx(q));
        check.check("idx_to_sigma", den.idxToSigma(g.input("idx_query")));
        check.check("possibly_quantize_sigma", den.possiblyQuantizeSigma(q));
        check.check("possibly_quantize_c_noise", den.possiblyQuantizeCNoise(q));
        NDArray quantized = den.possiblyQuantizeSigma(sigma);
        check.check("quantized_sigma", quantized);
        try (DenoiserScaling.Scalings s = den.getScaling().apply(Dims.appendDims(quantized, x.getShape().dimension()))) {
            check.check("c_skip", s.cSkip());
            check.check("c_out", s.cOut());
            check.check("c_in", s.cIn());
            check.check("c_noise_idx", den.possiblyQuantizeCNoise(s.cNoise().reshape(quantized.getShape())));
        }
        check.check("denoised", den.forward(network, x, sigma, cond));
    }

    static void checkScalings(Checker check, String prefix, DenoiserScaling scaling, NDArray sigma, int nd) {
        try (DenoiserScaling.Scalings s = scaling.apply(Dims.appendDims(sigma, nd))) {
            check.check(prefix + "c_skip", s.cSkip());
            check.check(prefix + "c_out", s.cOut());
            check.check(prefix + "c_in", s.cIn());
            check.check(prefix + "c_noise", s.cNoise());
        }
    }
}
