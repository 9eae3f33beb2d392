package io.github.sgm4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DigitClassifier} on the repository's MNIST copy: a short training reaches a useful accuracy,
 * training is bit-reproducible from its seed, weights survive a save/load round trip, and bad files
 * are refused naming the file and the key.
 */
class DigitClassifierTest {

    /** Steps of the short training (a subset of the 60000 training digits: STEPS x 64 of them). */
    static final long STEPS = 100;

    /** Steps of the two identical trainings that must give bit-identical weights. */
    static final long REPEATED_STEPS = 20;

    /** Accuracy of the short training on the first 1000 test digits must exceed this. */
    static final double SHORT_TRAINING_ACCURACY = 0.90;

    static MnistDataset trainSet;
    static MnistDataset testSet;
    static DigitClassifier shortTrained;

    @TempDir
    Path dir;

    @BeforeAll
    static void train() {
        trainSet = MnistDataset.load(Path.of("data/mnist"), true);
        testSet = MnistDataset.load(Path.of("data/mnist"), false);
        shortTrained = DigitClassifier.train(trainSet, shortOptions(), null);
    }

    @AfterAll
    static void release() {
        shortTrained.close();
    }

    static DigitClassifier.Options shortOptions() {
        return DigitClassifier.Options.defaults().withSteps(STEPS).withBatchSize(64).withSeed(7);
    }

    @Test
    void aShortTrainingClassifiesMostTestDigits() {
        double acc = shortTrained.accuracy(testSet, 1000);
        System.out.printf("DigitClassifier after %d steps of 64: accuracy %.3f on 1000 test digits%n", STEPS, acc);
        assertTrue(acc > SHORT_TRAINING_ACCURACY, "accuracy " + acc);
    }

    @Test
    void theSameSeedGivesBitIdenticalWeights() {
        DigitClassifier.Options opts = DigitClassifier.Options.defaults().withSteps(REPEATED_STEPS).withBatchSize(64)
                .withSeed(11);
        List<Double> losses = new ArrayList<>();
        try (DigitClassifier a = DigitClassifier.train(trainSet, opts, null);
                DigitClassifier b = DigitClassifier.train(trainSet, opts, (s, t, l) -> losses.add(l));
                DigitClassifier other = DigitClassifier.train(trainSet, opts.withSteps(1).withSeed(12), null)) {
            assertEquals(REPEATED_STEPS, losses.size());
            assertTrue(losses.get(losses.size() - 1) < losses.get(0), "the loss falls: " + losses);
            assertSameWeights(a, b);
            assertFalse(java.util.Arrays.equals(weight(a, "conv1.weight"), weight(other, "conv1.weight")),
                    "another seed must give other weights");
        }
    }

    @Test
    void saveThenLoadGivesTheSameWeightsAndPredictions() throws Exception {
        Path file = dir.resolve("sub/digits.safetensors");
        shortTrained.save(file);
        assertTrue(Files.list(file.getParent()).allMatch(p -> p.equals(file)), "no temporary file left behind");
        try (DigitClassifier loaded = DigitClassifier.load(file);
                NDManager m = NDManager.newBaseManager()) {
            assertSameWeights(shortTrained, loaded);
            NDArray x = testSet.gather(m, new int[] {0, 1, 2, 3, 4}).get("jpg");
            assertArrayEquals(shortTrained.predict(x), loaded.predict(x));
            // the 32 x 32 padding of the latent models is cropped back to the same digits
            NDArray padded = x.pad(new Shape(2, 2, 2, 2), -1.0);
            assertArrayEquals(loaded.predict(x), loaded.predict(padded));
            assertEquals(DigitClassifier.MODEL_NAME, SafeTensors.open(file).metadata().get(DigitClassifier.MODEL_KEY));
        }
    }

    @Test
    void badFilesAreRefusedNamingTheFileAndTheKey() throws Exception {
        Path missing = dir.resolve("none.safetensors");
        assertMessage(missing, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(missing)),
                "not found");

        Path garbage = dir.resolve("garbage.safetensors");
        Files.writeString(garbage, "this is not a safetensors file");
        assertMessage(garbage, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(garbage)),
                "safetensors");

        Path good = dir.resolve("good.safetensors");
        shortTrained.save(good);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = SafeTensors.readAll(good, m);

            Map<String, NDArray> noBias = new LinkedHashMap<>(sd);
            noBias.remove("fc2.bias");
            Path f1 = dir.resolve("missing-key.safetensors");
            SafeTensors.write(f1, noBias, Map.of());
            assertMessage(f1, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(f1)), "fc2.bias");

            Map<String, NDArray> extra = new LinkedHashMap<>(sd);
            extra.put("fc3.weight", Tensors.create(m, new float[] {1f}));
            Path f2 = dir.resolve("extra-key.safetensors");
            SafeTensors.write(f2, extra, Map.of());
            assertMessage(f2, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(f2)), "fc3.weight");

            Map<String, NDArray> shape = new LinkedHashMap<>(sd);
            shape.put("fc1.weight", m.zeros(new Shape(128, 799)));
            Path f3 = dir.resolve("shape.safetensors");
            SafeTensors.write(f3, shape, Map.of());
            assertMessage(f3, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(f3)), "fc1.weight",
                    "799");

            Map<String, NDArray> nan = new LinkedHashMap<>(sd);
            nan.put("conv2.bias", Tensors.create(m, new float[32]).div(Tensors.create(m, new float[32])));
            Path f4 = dir.resolve("nan.safetensors");
            SafeTensors.write(f4, nan, Map.of());
            assertMessage(f4, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(f4)), "conv2.bias",
                    "NaN");

            Path f5 = dir.resolve("other-model.safetensors");
            SafeTensors.write(f5, sd, Map.of(DigitClassifier.MODEL_KEY, "SomethingElse"));
            assertMessage(f5, assertThrows(ClassifierFileException.class, () -> DigitClassifier.load(f5)),
                    "SomethingElse");
        }
    }

    @Test
    void imagesOfAnotherShapeAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (Shape s : List.of(new Shape(2, 1, 30, 30), new Shape(2, 3, 28, 28), new Shape(1, 28, 28))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> shortTrained.predict(m.zeros(s)));
                assertTrue(e.getMessage().contains(s.toString()), e.getMessage());
            }
        }
    }

    @Test
    void optionsAreValidated() {
        DigitClassifier.Options d = DigitClassifier.Options.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withSteps(0));
        assertThrows(IllegalArgumentException.class, () -> d.withBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> new DigitClassifier.Options(1, 1, Double.NaN, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new DigitClassifier.Options(1, 1, 1e-3, -1, 0));
        assertEquals(d.learningRate(), d.learningRateAt(0), 0);
        assertEquals(0, d.learningRateAt(d.steps()), 1e-12);
    }

    private static void assertMessage(Path file, ClassifierFileException e, String... fragments) {
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertEquals(file, e.getFile());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        }
    }

    private static float[] weight(DigitClassifier c, String key) {
        return c.network().stateDict().get(key).toFloatArray();
    }

    private static void assertSameWeights(DigitClassifier a, DigitClassifier b) {
        Map<String, NDArray> sa = a.network().stateDict();
        Map<String, NDArray> sb = b.network().stateDict();
        assertEquals(sa.keySet(), sb.keySet());
        for (String k : sa.keySet()) {
            assertArrayEquals(sa.get(k).toByteArray(), sb.get(k).toByteArray(), k);
        }
    }
}
