package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import java.util.List;
import java.util.Map;

/** {@code sample-mnist}: DiffusionEngine.sample of mnist_cond.yaml (EulerEDM 50 steps, CFG 3), batch 16. */
public class SampleMnist extends MnistEngineWorkload {

    private GeneralConditioner.CondPair cu;

    @Override
    public String name() {
        return "sample-mnist";
    }

    @Override
    public void setUp(NDManager manager) {
        super.setUp(manager);
        long[] cls = new long[16];
        for (int i = 0; i < 16; i++) {
            cls[i] = i % 10;
        }
        Map<String, NDArray> batch = Map.of("cls", Tensors.create(manager, cls));
        cu = engine.getConditioner().getUnconditionalConditioning(batch, null, List.of("cls"), null);
    }

    @Override
    public void runOnce() {
        engine.sample(cu.c(), cu.uc(), 16, new Shape(1, 28, 28), noise, null).close();
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 3;
    }
}
