package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.models.SgmAutoencoderTrainer;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Case {@code sgm_autoencoder_kl_train} (golden-extra/autoencoder): sgm's AutoencodingEngine with
 * GeneralLPIPSWithDiscriminator trained by its own manual-optimisation {@code training_step} for
 * four batches (one optimizer per batch; posterior samples and LPIPS dropout masks replayed). Per
 * step: the optimizer index, loss, log, the gradients of the parameters that received one; the
 * optimizer step is applied to the recorded gradients and the resulting state is checked, then the
 * recorded state is loaded so the next step starts from the reference's weights.
 */
public class SgmAutoencoderTrainRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("sgm_autoencoder_kl_train");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        SgmAutoencoderTrainer t = SgmAutoencoderTrainer.fromConfig(g.config().getNode("params"), new Instantiator());
        t.setLearningRate(g.config().getDouble("base_learning_rate"));
        t.attach(g.manager());
        Map<String, NDArray> sd = new LinkedHashMap<>(g.weights());
        sd.putAll(VggFormulaWeights.generate(g, g.manager()));
        t.loadStateDict(sd, true);
        List<SgmAutoencoderTrainer.Optimizer> opts = t.configureOptimizers(g.manager());
        ReplayNoiseSource noise = g.noise();
        t.train();
        int steps = g.param("steps").getAsInt();
        for (int step = 0; step < steps; step++) {
            NDArray x = g.input("jpg." + step);
            int idx = t.optimizerIndex(step, step, opts.size());
            check.check("optidx." + step, Tensors.scalar(g.manager(), idx, DataType.INT64));
            t.zeroGrad(idx);
            t.toggleOptimizer(idx);
            SgmAutoencoderTrainer.StepOutput out;
            Map<String, NDArray> grads;
            try {
                out = t.trainingStep(x, step, idx, noise);
                check.check("loss." + step, out.loss());
                for (Map.Entry<String, NDArray> e : out.log().entrySet()) {
                    check.check("log." + step + "." + e.getKey().substring("train/".length()), e.getValue());
                }
                t.backward(out);
                grads = t.gradients(out);
            } finally {
                t.untoggleOptimizer();
            }
            String gradPrefix = "grad." + step + ".";
            long expectedGrads = g.outputKeys().stream().filter(k -> k.startsWith(gradPrefix)).count();
            if (expectedGrads != grads.size()) {
                check.fail("step " + step + ": " + grads.size() + " parameters received a gradient, the reference "
                        + expectedGrads);
            }
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                String key = gradPrefix + e.getKey();
                check.check(key, e.getValue(), idx == 0 ? AutoencoderGradTolerance.of(g.expected(key)) : g.tolerance(key));
            }
            for (String key : g.outputKeys()) {
                if (key.startsWith(gradPrefix)) {
                    opts.get(idx).step(key.substring(gradPrefix.length()), g.expected(key));
                }
            }
            String statePrefix = "state." + step + ".";
            Map<String, Parameter> tensors = t.namedTensors();
            for (String key : g.outputKeys()) {
                if (key.startsWith(statePrefix)) {
                    Parameter p = tensors.get(key.substring(statePrefix.length()));
                    check.check(key, p.getArray());
                    p.setArray(g.expected(key), g.manager());
                }
            }
        }
        noise.assertExhausted();
    }
}
