package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper;
import java.util.LinkedHashMap;
import java.util.Map;

/** Shared set-up of cases whose config holds {@code network} + {@code network_wrapper} (engine key layout). */
final class NetworkCases {

    private NetworkCases() {}

    /**
     * {@code OpenAIWrapper(UNetModel(config.network))} with the {@code model.diffusion_model.*}
     * weights of the case loaded strictly (other weight keys belong to other objects of the case).
     */
    static OpenAIWrapper network(GoldenCase g) {
        String wrapper = g.config().getString("network_wrapper");
        if (!wrapper.equals("sgm.modules.diffusionmodules.wrappers.OpenAIWrapper")) {
            throw new IllegalArgumentException("unsupported network_wrapper " + wrapper);
        }
        UNetModel unet = new Instantiator().instantiate(g.config("network"), UNetModel.class);
        OpenAIWrapper net = new OpenAIWrapper(unet);
        net.attach(g.manager());
        net.loadStateDict(withPrefix(g.weights(), "model."), true);
        net.eval();
        return net;
    }

    /**
     * The denoiser of {@code config.<key>} built through the Instantiator; a denoiser with tensors
     * (DiscreteDenoiser's {@code sigmas}) gets them loaded strictly from the {@code denoiser.*}
     * weights of the case, as in an engine checkpoint.
     */
    static Denoiser denoiser(GoldenCase g, Instantiator inst, String key) {
        Denoiser den = inst.instantiate(g.config(key), Denoiser.class);
        if (!den.namedTensors().isEmpty()) {
            den.attach(g.manager());
            den.loadStateDict(withPrefix(g.weights(), "denoiser."), true);
        }
        return den;
    }

    /** The weights under {@code prefix}, prefix removed. */
    static Map<String, NDArray> withPrefix(Map<String, NDArray> weights, String prefix) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                out.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        return out;
    }

    /** {@code cond.*} / {@code uc.*} inputs as a conditioning dict. */
    static Map<String, NDArray> cond(GoldenCase g, String prefix) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String k : g.inputKeys(prefix + ".")) {
            out.put(k.substring(prefix.length() + 1), g.input(k));
        }
        return out;
    }
}
