package io.github.sgm4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.SampleOptions;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * sgm4j's high-level API end to end: build the tiny MNIST model shipped with sgm4j, train three
 * steps on real digits, save a checkpoint, reload it into a fresh manager and sample four digits.
 * Run it from {@code examples/} (it reads {@code ../data/mnist}, or the directory given as the first
 * argument).
 */
public final class TrainSaveSample {

    private TrainSaveSample() {}

    /**
     * Trains, saves, reloads and samples.
     *
     * @param args optional: the MNIST directory (default {@code ../data/mnist})
     */
    public static void main(String[] args) {
        ConfigNode config = ConfigNode.loadResource("mnist_tiny.yaml");
        MnistDataset mnist = MnistDataset.load(Path.of(args.length > 0 ? args[0] : "../data/mnist"), true);
        Path checkpoint = Path.of("target", "mnist_tiny.safetensors");
        double loss = Double.NaN;
        try (NDManager manager = NDManager.newBaseManager()) {
            DiffusionEngine engine = DiffusionEngine.load(config, null, manager);
            NoiseSource noise = NoiseSource.seeded(0);
            for (int step = 0; step < 3; step++) {
                try (NDManager batchManager = manager.newSubManager()) {
                    Map<String, NDArray> batch = mnist.batch(batchManager, step, 16, 0);
                    loss = engine.trainBatch(batch, noise).loss();
                }
            }
            engine.save(checkpoint);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            DiffusionEngine engine = DiffusionEngine.load(config, checkpoint, manager);
            NDArray images = engine.sample(Map.of("cls", new int[] {0, 1, 2, 3}), 4,
                    SampleOptions.defaults().withSeed(42).withEma(true));
            System.out.printf(Locale.ROOT, "trained 3 steps, loss %.4f; samples %s%n", loss, images.getShape());
        }
    }
}
