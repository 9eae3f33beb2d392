package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss;
import io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Cases {@code diffusion_loss_*}: {@code StandardDiffusionLoss._forward(network, denoiser, cond,
 * x, {})} for one loss ({@code config.loss}) or several in order ({@code config.losses}), checking
 * the per-sample loss and the intermediates (sigmas, noised input, model output, w). Noise replays
 * across the runs in order; offset noise uses shape (B, C).
 */
public class DiffusionLossRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("diffusion_loss_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        OpenAIWrapper network = NetworkCases.network(g);
        Instantiator inst = new Instantiator();
        Denoiser den = NetworkCases.denoiser(g, inst, "denoiser");
        Map<String, NDArray> cond = NetworkCases.cond(g, "cond");
        NDArray x = g.input("x");
        ReplayNoiseSource noise = g.noise();
        Map<String, ConfigNode> losses = new LinkedHashMap<>();
        if (g.config().has("losses")) {
            ConfigNode all = g.config("losses");
            for (String k : all.keys()) {
                losses.put(k + ".", all.getNode(k));
            }
        } else {
            losses.put("", g.config("loss"));
        }
        for (Map.Entry<String, ConfigNode> e : losses.entrySet()) {
            StandardDiffusionLoss loss = inst.instantiate(e.getValue(), StandardDiffusionLoss.class);
            try (StandardDiffusionLoss.Result r = loss.forwardDetailed(network, den, cond, x, Map.of(), noise)) {
                String p = e.getKey();
                check.check(p + "loss", r.loss());
                check.check(p + "sigmas", r.sigmas());
                check.check(p + "noised_input", r.noisedInput());
                check.check(p + "model_output", r.modelOutput());
                check.check(p + "w", r.w());
            }
        }
        noise.assertExhausted();
    }
}
