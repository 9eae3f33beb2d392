package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Case family {@code ldm_latent_diffusion}: {@code config.main} built through the Instantiator,
 * weights loaded strictly; get_input (posterior draw), posterior moments, get_learned_conditioning,
 * apply_model, p_losses (given t and noise), decode_first_stage, shared_step in train mode; then the
 * {@code config.scale_by_std} model: on_train_batch_start, get_input, decode_first_stage.
 */
public class LdmLatentDiffusionRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("ldm_latent_diffusion");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        ReplayNoiseSource noise = g.noise();
        Map<String, NDArray> batch = new LinkedHashMap<>();
        for (String k : g.inputKeys("batch.")) {
            batch.put(k.substring("batch.".length()), g.input(k));
        }
        LatentDiffusion m = new Instantiator().instantiate(g.config("main"), LatentDiffusion.class);
        m.attach(g.manager());
        m.loadStateDict(g.weights(), true);
        m.eval();
        String fsk = m.getParams().firstStageKey();
        NDArray x = DDPM.getInput(batch, fsk);
        check.check("get_input.x", x);
        try (DiagonalGaussianDistribution posterior = m.encodeFirstStage(x)) {
            check.check("posterior.mean", posterior.getMean());
            check.check("posterior.std", posterior.getStd());
        }
        LatentDiffusion.Input in = m.getInput(batch, fsk, noise);
        check.check("get_input.z", in.z());
        NDArray cond = in.c() instanceof NDArray a ? a : m.getLearnedConditioning(in.c());
        check.check("cond", cond);
        NDArray t = g.input("t");
        check.check("apply_model", m.applyModel(g.input("x_noisy"), t, cond));
        LdmDdpmRunner.checkLosses(check, "p_losses.", m.pLosses(in.z(), cond, t, g.input("noise"), noise));
        check.check("decode_first_stage", m.decodeFirstStage(in.z()));
        m.train();
        LdmDdpmRunner.checkLosses(check, "shared_step.", m.sharedStep(batch, noise));
        m.eval();

        if (g.json().getAsJsonObject("config").has("scale_by_std")) {
            LatentDiffusion m2 = new Instantiator().instantiate(g.config("scale_by_std"), LatentDiffusion.class);
            m2.attach(g.manager());
            m2.loadStateDict(g.weights(), false);
            m2.eval();
            m2.onTrainBatchStart(batch, 0, 0, 0, noise);
            check.check("std.scale_factor", m2.stateDict().get("scale_factor"));
            LatentDiffusion.Input in2 = m2.getInput(batch, fsk, noise);
            check.check("std.get_input.z", in2.z());
            check.check("std.decode_first_stage", m2.decodeFirstStage(in2.z()));
        }
        noise.assertExhausted();
    }
}
