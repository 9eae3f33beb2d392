package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The DiffusionEngine of sgm's {@code mnist_cond.yaml} (bundled as a resource), random init (seed 0),
 * learning rate 1e-4; 2 warm-up and 5 timed runs unless a subclass says otherwise.
 */
abstract class MnistEngineWorkload implements Workload {

    /** The engine, built by {@link #setUp}; its arrays belong to the manager given there. */
    protected DiffusionEngine engine;

    /** The noise source (seed 0) that initialised the engine; subclasses draw their inputs from it. */
    protected TorchNoiseSource noise;

    @Override
    public void setUp(NDManager manager) {
        String yaml;
        try (InputStream in = MnistEngineWorkload.class.getResourceAsStream("/io/github/sgm4j/bench/mnist_cond.yaml")) {
            yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ConfigNode model = ConfigNode.parse(yaml, "mnist_cond.yaml").getNode("model");
        engine = new Instantiator().instantiate(model, DiffusionEngine.class);
        engine.setLearningRate(1e-4);
        noise = new TorchNoiseSource(0);
        engine.initialize(manager, noise);
    }

    @Override
    public int warmup() {
        return 2;
    }

    @Override
    public int runs() {
        return 5;
    }
}
