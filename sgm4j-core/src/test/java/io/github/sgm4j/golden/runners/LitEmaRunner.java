package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.golden.TreeModule;
import io.github.sgm4j.modules.LitEma;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cases {@code lit_ema_*}: a toy model (trainable parameters named in {@code extra.m_name2s_name},
 * other snapshot parameters frozen, remaining weights buffers), LitEma built from the case config,
 * five updates, store / copy_to / restore, reset_num_updates.
 */
public class LitEmaRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("lit_ema_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        Set<String> trainable = g.extra("m_name2s_name").getAsJsonObject().keySet();
        Map<String, NDArray> weights = g.weights();
        TreeModule model = new TreeModule();
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            String key = e.getKey();
            boolean isParam = g.hasInput("snapshot0." + key);
            model.add(key, e.getValue().getShape(), e.getValue().getDataType(), !isParam, trainable.contains(key));
        }
        model.attach(g.manager());
        model.loadStateDict(weights, true);
        setSnapshot(g, model, 0);

        LitEma ema = new Instantiator().with("model", model).instantiate(g.config(), LitEma.class);
        ema.initialize(g.manager(), g.noise());
        checkState(g, check, ema, "init");
        int steps = g.param("steps").getAsInt();
        for (int k = 1; k <= steps; k++) {
            setSnapshot(g, model, k);
            ema.update(model);
            checkState(g, check, ema, "step" + k);
        }
        List<Parameter> params = new ArrayList<>(model.namedParameters().values());
        ema.store(params);
        ema.copyTo(model);
        checkModel(g, check, model, "after_copy_to");
        ema.restore(params);
        checkModel(g, check, model, "after_restore");
        ema.resetNumUpdates();
        ema.update(model);
        checkState(g, check, ema, "after_reset");
    }

    private static void setSnapshot(GoldenCase g, Module model, int k) {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            String key = "snapshot" + k + "." + e.getKey();
            if (g.hasInput(key)) {
                e.getValue().setArray(g.input(key), model.getManager());
            }
        }
    }

    private static void checkState(GoldenCase g, Checker check, LitEma ema, String prefix) {
        Map<String, NDArray> sd = ema.stateDict();
        for (String key : g.outputKeys()) {
            if (key.startsWith(prefix + ".")) {
                String name = key.substring(prefix.length() + 1);
                NDArray actual = sd.get(name);
                if (actual == null) {
                    check.fail(key + ": LitEma state dict has no '" + name + "' (has " + sd.keySet() + ")");
                } else {
                    check.check(key, actual);
                }
            }
        }
    }

    private static void checkModel(GoldenCase g, Checker check, Module model, String prefix) {
        Map<String, Parameter> params = model.namedTensors();
        for (String key : g.outputKeys()) {
            if (key.startsWith(prefix + ".")) {
                check.check(key, params.get(key.substring(prefix.length() + 1)).getArray());
            }
        }
    }
}
