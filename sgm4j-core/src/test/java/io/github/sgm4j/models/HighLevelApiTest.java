package io.github.sgm4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11: the high-level API (load, trainBatch, save, load, sample) and the README's example. */
class HighLevelApiTest {

    static final Path EXAMPLE = Path.of("examples/src/main/java/io/github/sgm4j/examples/TrainSaveSample.java");

    @TempDir
    Path dir;

    @Test
    void loadTrainSaveLoadSample() {
        ConfigNode config = ConfigNode.loadResource("mnist_tiny.yaml");
        MnistDataset mnist = MnistDataset.load(Path.of("data/mnist"), true);
        Path ckpt = dir.resolve("tiny.safetensors");
        Map<String, NDArray> trained;
        try (NDManager manager = NDManager.newBaseManager()) {
            DiffusionEngine engine = DiffusionEngine.load(config, null, manager);
            assertEquals(1e-3, engine.getLearningRate());
            NoiseSource noise = NoiseSource.seeded(0);
            try (NDManager batchManager = manager.newSubManager()) {
                Map<String, NDArray> batch = mnist.batch(batchManager, 0, 8, 0);
                DiffusionEngine.StepResult r = engine.trainBatch(batch, noise);
                assertTrue(Double.isFinite(r.loss()));
                // the caller's arrays survive the step's scope
                assertFalse(batch.get("jpg").isReleased());
            }
            // plain Java values: images (B, C, H, W) and labels
            float[][][][] images = new float[4][1][28][28];
            for (float[][][] image : images) {
                image[0][14][14] = 1f;
            }
            DiffusionEngine.StepResult r = engine.trainBatch(Map.of("jpg", images, "cls", new int[] {0, 1, 2, 3}), noise);
            assertEquals(2, r.globalStep());
            engine.save(ckpt);
            assertTrue(Files.isRegularFile(EngineCheckpoint.trainerFile(ckpt)));
            for (Path f : List.of(ckpt, EngineCheckpoint.trainerFile(ckpt))) {
                try (SafeTensorsFile sf = SafeTensors.open(f)) {
                    assertEquals("2", sf.metadata().get(EngineCheckpoint.GLOBAL_STEP), f.toString());
                }
            }
            try (NDManager copy = NDManager.newBaseManager()) {
                trained = new java.util.LinkedHashMap<>();
                engine.stateDict().forEach((k, v) -> trained.put(k, v.duplicate()));
                trained.values().forEach(a -> a.attach(copy));
                try (NDManager fresh = NDManager.newBaseManager()) {
                    DiffusionEngine again = DiffusionEngine.load(config, ckpt, fresh);
                    assertEquals(2, again.getGlobalStep());
                    again.stateDict().forEach((k, v) -> assertEquals(trained.get(k), v, k));

                    NDArray a = again.sample(Map.of("cls", List.of(0, 1, 2, 3)), 4,
                            SampleOptions.defaults().withSeed(42).withEma(true).withManager(fresh));
                    NDArray b = again.sample(Map.of("cls", new int[] {0, 1, 2, 3}), 4,
                            SampleOptions.defaults().withSeed(42).withEma(true));
                    assertEquals(new Shape(4, 1, 28, 28), a.getShape());
                    assertSame(fresh, a.getManager());
                    assertArrayEquals(a.toFloatArray(), b.toFloatArray(), "same seed: bit-identical images");
                    NDArray c = again.sample(Map.of("cls", 3), 4, SampleOptions.defaults().withSeed(43));
                    assertFalse(Arrays.equals(a.toFloatArray(), c.toFloatArray()));
                    // overrides rebuild the sampler from the recorded config
                    int[] steps = new int[1];
                    NDArray d = again.sample(Map.of("cls", 1), 2, SampleOptions.defaults().withNumSteps(2)
                            .withGuidanceScale(2.0).withImageSize(28).withProgress((s, total, sigma, x) -> {
                                steps[0] = total;
                                return true;
                            }));
                    assertEquals(new Shape(2, 1, 28, 28), d.getShape());
                    assertEquals(2, steps[0]);
                    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                            () -> again.sample(Map.of(), 2, null));
                    assertTrue(missing.getMessage().contains("cls"), missing.getMessage());
                    assertThrows(IllegalArgumentException.class, () -> again.sample(Map.of("cls", 1), 0, null));
                    // built without EngineLoader: no config to read image_size from
                    DiffusionEngine bare = new io.github.sgm4j.config.Instantiator().instantiate(config.getNode("model"),
                            DiffusionEngine.class);
                    bare.initialize(fresh, NoiseSource.seeded(0));
                    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                            () -> bare.sample(Map.of("cls", 1), 1, null));
                    assertTrue(size.getMessage().contains("withImageSize"), size.getMessage());
                    assertEquals(new Shape(1, 1, 28, 28),
                            bare.sample(Map.of("cls", 1), 1, SampleOptions.defaults().withImageSize(28)).getShape());
                }
            }
        }
    }

    @Test
    void typedErrorsNameTheFile() {
        ConfigNode config = ConfigNode.loadResource("mnist_tiny.yaml");
        Path none = dir.resolve("missing.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> DiffusionEngine.load(config, none, m));
            assertEquals(none, e.file());
            assertTrue(e.getMessage().contains(none.toString()), e.getMessage());
        }
        assertThrows(io.github.sgm4j.config.ConfigException.class,
                () -> DiffusionEngine.load(dir.resolve("nope.yaml"), null, null));
    }

    /** The README shows the example's main body verbatim. */
    @Test
    void readmeHoldsTheExample() throws IOException {
        String src = Files.readString(EXAMPLE, StandardCharsets.UTF_8);
        String head = "    public static void main(String[] args) {\n";
        int from = src.indexOf(head);
        assertTrue(from >= 0, "no main in " + EXAMPLE);
        int to = src.indexOf("\n    }\n", from);
        String body = src.substring(from + head.length(), to + 1).lines()
                .map(l -> l.startsWith("        ") ? l.substring(8) : l)
                .collect(Collectors.joining("\n", "", "\n"));
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);
        assertTrue(readme.contains("```java\n" + body + "```"), "README.md does not hold the main body of " + EXAMPLE);
    }
}
