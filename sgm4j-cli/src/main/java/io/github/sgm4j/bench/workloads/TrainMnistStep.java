package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code train-mnist-step}: one full DiffusionEngine training step of mnist_cond.yaml at batch 64. */
public class TrainMnistStep extends MnistEngineWorkload {

    private Map<String, NDArray> batch;

    @Override
    public String name() {
        return "train-mnist-step";
    }

    @Override
    public void setUp(NDManager manager) {
        super.setUp(manager);
        batch = new LinkedHashMap<>();
        batch.put("jpg", F.sub(F.mul(noise.rand(manager, new Shape(64, 1, 28, 28)), 2), 1));
        batch.put("cls", noise.randint(manager, 0, 10, new Shape(64)).toType(DataType.INT64, false));
    }

    @Override
    public void runOnce() {
        engine.trainStep(batch, noise);
    }
}
