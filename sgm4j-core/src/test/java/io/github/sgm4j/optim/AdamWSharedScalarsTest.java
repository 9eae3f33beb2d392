package io.github.sgm4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link AdamW#step()} (gradients attached to the parameters) with its per-step shared scalar operands is bit-identical to the update
 * written with {@code nn.F}'s per-call scalar ops (the formulation before issue 15, kept here as
 * the definition), over several steps with a changing learning rate; and its one-call form ({@code
 * F.adamwUpdate}, all parameters in one native call) equals the per-parameter form bit for bit,
 * also for a parameter no backward has reached (a zero gradient in both).
 */
class AdamWSharedScalarsTest {

    @Test
    void sharedScalarsAreBitIdenticalToPerCallScalars() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(3);
            // a conv (4-d weight, bias) and a linear (2-d weight, bias): four parameters
            io.github.sgm4j.nn.Sequential net = new io.github.sgm4j.nn.Sequential(
                    new io.github.sgm4j.nn.Conv2d(16, 32, 3, 1, 1), new io.github.sgm4j.nn.Linear(5, 7));
            net.initialize(m, ns);
            Map<String, Parameter> params = net.namedParameters();
            Map<String, NDArray> reference = copiesThenRequireGradients(params);
            AdamW.Params hp = new AdamW.Params(1e-3, 0.9, 0.999, 1e-8, 0.01, false);
            AdamW opt = new AdamW(params, hp, m);
            Map<String, NDArray> expAvg = new LinkedHashMap<>();
            Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
            for (int step = 1; step <= 4; step++) {
                double lr = 1e-3 * step;
                opt.setLr(lr);
                Map<String, NDArray> grads = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> e : params.entrySet()) {
                    NDArray g = F.mul(ns.randn(m, e.getValue().getArray().getShape()), 0.1 * step);
                    grads.put(e.getKey(), g);
                }
                // attach exactly g as each parameter's gradient: d/dp sum(p * g) = g
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    NDArray loss = null;
                    for (Map.Entry<String, Parameter> e : params.entrySet()) {
                        F.zeroGrad(e.getValue().getArray());
                        NDArray term = e.getValue().getArray().mul(grads.get(e.getKey())).sum();
                        loss = loss == null ? term : loss.add(term);
                    }
                    gc.backward(loss);
                }
                for (Map.Entry<String, Parameter> e : params.entrySet()) {
                    assertArrayEquals(grads.get(e.getKey()).toFloatArray(), e.getValue().getArray().getGradient().toFloatArray(),
                            "gradient of " + e.getKey());
                }
                try (GradMode ignored = GradMode.disabled()) {
                    opt.step();
                    for (String name : reference.keySet()) {
                        perCallUpdate(reference.get(name), grads.get(name), expAvg, expAvgSq, name, step, lr, hp);
                    }
                }
                for (String name : reference.keySet()) {
                    assertArrayEquals(reference.get(name).toFloatArray(), params.get(name).getArray().toFloatArray(),
                            "step " + step + " " + name);
                }
            }
        }
    }

    @Test
    void oneCallStepIsBitIdenticalToPerParameterSteps() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(4);
            io.github.sgm4j.nn.Sequential net = new io.github.sgm4j.nn.Sequential(
                    new io.github.sgm4j.nn.Conv2d(8, 16, 3, 1, 1), new io.github.sgm4j.nn.Linear(5, 7),
                    new io.github.sgm4j.nn.Linear(3, 2));
            net.initialize(m, ns);
            Map<String, Parameter> params = net.namedParameters();
            Map<String, NDArray> copies = copiesThenRequireGradients(params);
            AdamW.Params hp = new AdamW.Params(2e-3, 0.9, 0.999, 1e-8, 0.05, false);
            AdamW oneCall = new AdamW(params, hp, m);
            AdamW perParameter = new AdamW(new LinkedHashMap<>(), hp, m);
            for (int step = 1; step <= 3; step++) {
                Map<String, NDArray> grads = new LinkedHashMap<>();
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    NDArray loss = null;
                    for (Map.Entry<String, Parameter> e : params.entrySet()) {
                        F.zeroGrad(e.getValue().getArray());
                        if (e.getKey().startsWith("2.")) {
                            continue; // the last linear layer never gets a gradient: zeros on both paths
                        }
                        NDArray g = F.mul(ns.randn(m, e.getValue().getArray().getShape()), 0.3 * step);
                        grads.put(e.getKey(), g);
                        NDArray term = e.getValue().getArray().mul(g).sum();
                        loss = loss == null ? term : loss.add(term);
                    }
                    gc.backward(loss);
                }
                try (GradMode ignored = GradMode.disabled()) {
                    oneCall.step();
                    for (Map.Entry<String, NDArray> e : copies.entrySet()) {
                        NDArray g = grads.containsKey(e.getKey()) ? grads.get(e.getKey()) : e.getValue().zerosLike();
                        perParameter.step(e.getKey(), e.getValue(), g);
                    }
                }
                for (String name : copies.keySet()) {
                    assertArrayEquals(copies.get(name).toFloatArray(), params.get(name).getArray().toFloatArray(),
                            "step " + step + " " + name);
                }
            }
            for (String name : copies.keySet()) {
                org.junit.jupiter.api.Assertions.assertEquals(3L, oneCall.stepCounts().get(name), "step count of " + name);
            }
        }
    }

    /** Detached copies of the parameters' values (by name); then the parameters record gradients. */
    private static Map<String, NDArray> copiesThenRequireGradients(Map<String, Parameter> params) {
        Map<String, NDArray> copies = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            copies.put(e.getKey(), e.getValue().getArray().duplicate());
            e.getValue().getArray().setRequiresGradient(true);
        }
        return copies;
    }

    /** The update as it was written with nn.F's scalar ops (one 0-d operand per call). */
    private static void perCallUpdate(NDArray p, NDArray grad, Map<String, NDArray> expAvg,
            Map<String, NDArray> expAvgSq, String name, long step, double lr, AdamW.Params hp) {
        NDArray m = expAvg.computeIfAbsent(name, k -> p.zerosLike());
        NDArray v = expAvgSq.computeIfAbsent(name, k -> p.zerosLike());
        F.muli(p, 1 - lr * hp.weightDecay());
        F.muli(m, hp.beta1());
        m.addi(F.mul(grad, 1 - hp.beta1()));
        F.muli(v, hp.beta2());
        v.addi(F.mul(grad, 1 - hp.beta2()).mul(grad));
        double bc1 = 1 - Math.pow(hp.beta1(), step);
        double bc2 = 1 - Math.pow(hp.beta2(), step);
        NDArray denom = F.add(F.div(F.sqrtExact(v), Math.sqrt(bc2)), hp.eps());
        p.addi(F.mul(m, -(lr / bc1)).div(denom));
    }
}
