package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.AutoencoderTrainers;
import io.github.sgm4j.models.AutoencoderTraining;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/**
 * The original ldm autoencoder configs build and train a few steps (tiny widths, 32x32 images; the
 * structure unchanged), their checkpoints reload strictly, a resumed run equals the uninterrupted
 * one bit for bit (both optimizers, BatchNorm buffers), and LPIPS weights load from the documented
 * directory with a clear error when missing.
 */
class AutoencoderTrainingTest {

    static final Path CONFIGS = Path.of("src/test/resources/reference-configs");

    @TempDir
    static Path lpipsDir;

    /** Random LPIPS weights in the two files the user would have (torchvision and LPIPS keys). */
    @BeforeAll
    static void writeLpipsWeights() {
        try (NDManager m = NDManager.newBaseManager()) {
            LPIPS l = new LPIPS();
            l.initialize(m, new TorchNoiseSource(7));
            Map<String, NDArray> vgg = new LinkedHashMap<>();
            Map<String, NDArray> lin = new LinkedHashMap<>();
            l.stateDict().forEach((k, v) -> {
                if (k.startsWith("net.slice")) {
                    String idx = k.substring(k.indexOf('.', 4) + 1);
                    vgg.put("features." + idx, v);
                } else if (k.startsWith("lin")) {
                    lin.put(k, v);
                }
            });
            SafeTensors.write(lpipsDir.resolve("vgg16.safetensors"), vgg, Map.of());
            SafeTensors.write(lpipsDir.resolve("vgg_lpips.safetensors"), lin, Map.of());
        }
    }

    static Stream<String> ldmConfigs() throws Exception {
        try (Stream<Path> s = Files.list(CONFIGS.resolve("ldm/autoencoder"))) {
            return s.map(p -> "ldm/autoencoder/" + p.getFileName()).sorted().toList().stream();
        }
    }

    static Stream<String> sgmConfigs() throws Exception {
        try (Stream<Path> s = Files.list(CONFIGS.resolve("sgm/example_training/autoencoder/kl-f4"))) {
            return s.map(p -> "sgm/example_training/autoencoder/kl-f4/" + p.getFileName()).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("sgmConfigs")
    void sgmConfigTrainsThreeStepsAndReloadsStrictly(String rel, @TempDir Path out) throws Exception {
        ConfigNode root = tiny(rel, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderTraining t = AutoencoderTrainers.build(root.getNode("model"), m, 0, 1e-4);
            List<Map<String, Double>> logs = new ArrayList<>();
            AutoencoderRun.Result r = new AutoencoderRun(t, AutoencoderTrainingTest::images, images(m, 99, 2, 1),
                    new AutoencoderRun.Options(3, 2, out, 0, 0, 0)).run((step, log) -> logs.add(log));
            assertEquals(3, r.finalStep());
            // sgm: one optimizer per batch, batch_idx % 2 once global_step >= disc_start_iter (0 here)
            assertEquals(List.of(0.0, 1.0, 0.0), logs.stream().map(l -> l.get("optimizer")).toList());
            for (Map<String, Double> log : logs) {
                assertTrue(log.values().stream().allMatch(Double::isFinite), rel + ": " + log);
            }
            Map<String, NDArray> sd = SafeTensors.readAll(r.lastCheckpoint(), m);
            assertTrue(sd.containsKey("loss.logvar") && sd.keySet().stream().anyMatch(k -> k.startsWith("loss.discriminator.")));
            AutoencoderTraining fresh = AutoencoderTrainers.build(root.getNode("model"), m, 5, 1e-4);
            AutoencoderRun.resume(r.lastCheckpoint(), fresh);
            for (Map.Entry<String, NDArray> e : fresh.module().stateDict().entrySet()) {
                assertTrue(e.getValue().contentEquals(sd.get(e.getKey())), e.getKey());
            }
            assertEquals(3, fresh.getGlobalStep());
        }
    }

    /** The config with tiny widths: ch 32, 32x32 images, disc_start 1, LPIPS from the test directory. */
    @SuppressWarnings("unchecked")
    static ConfigNode tiny(String rel, long discStart) throws Exception {
        return tiny(rel, discStart, lpipsDir);
    }

    @SuppressWarnings("unchecked")
    static ConfigNode tiny(String rel, long discStart, Path lpips) throws Exception {
        Map<String, Object> root = new Yaml().load(Files.readString(CONFIGS.resolve(rel)));
        Map<String, Object> params = (Map<String, Object>) ((Map<String, Object>) root.get("model")).get("params");
        boolean sgm = params.containsKey("encoder_config");
        Map<String, Object> dd = sgm ? (Map<String, Object>) ((Map<String, Object>) params.get("encoder_config")).get("params")
                : (Map<String, Object>) params.get("ddconfig");
        dd.put("ch", 32);
        dd.put("resolution", 32);
        if (sgm && dd.containsKey("num_res_blocks")) {
            dd.put("attn_type", "vanilla".equals(dd.get("attn_type")) || "vanilla-xformers".equals(dd.get("attn_type"))
                    ? "vanilla" : dd.get("attn_type"));
        }
        Map<String, Object> loss = (Map<String, Object>) ((Map<String, Object>) params.get(sgm ? "loss_config" : "lossconfig"))
                .get("params");
        loss.put("disc_start", discStart);
        loss.put("lpips_dir", lpips.toString());
        return ConfigNode.of(root);
    }

    static NDArray images(NDManager m, long step, int bs, long seed) {
        TorchNoiseSource n = new TorchNoiseSource(seed * 31 + step);
        try (NDArray r = n.randn(m, new Shape(bs, 3, 32, 32))) {
            return r.tanh();
        }
    }

    @ParameterizedTest
    @MethodSource("ldmConfigs")
    void ldmConfigTrainsThreeStepsAndReloadsStrictly(String rel, @TempDir Path out) throws Exception {
        ConfigNode root = tiny(rel, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            double lr = AutoencoderTrainers.learningRate(root, 2, 1, true);
            AutoencoderTraining t = AutoencoderTrainers.build(root.getNode("model"), m, 0, lr);
            List<Map<String, Double>> logs = new ArrayList<>();
            AutoencoderRun run = new AutoencoderRun(t, AutoencoderTrainingTest::images, images(m, 99, 2, 1),
                    new AutoencoderRun.Options(3, 2, out, 0, 0, 0));
            AutoencoderRun.Result r = run.run((step, log) -> logs.add(log));
            assertEquals(3, r.finalStep());
            assertEquals(3, logs.size());
            for (Map<String, Double> log : logs) {
                assertTrue(log.values().stream().allMatch(Double::isFinite), rel + ": " + log);
            }
            // step 1 (global step 0) is before disc_start: disc factor 0; the next steps train the discriminator
            assertEquals(0.0, logs.get(0).get("disc_factor"));
            assertEquals(1.0, logs.get(1).get("disc_factor"));
            assertTrue(Files.exists(out.resolve("reconstructions-000003.png")));
            List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
            assertEquals(4, csv.size(), "header + 3 rows");

            // strict reload into a fresh model, and inference loading ignoring loss.*
            AutoencoderTraining fresh = AutoencoderTrainers.build(root.getNode("model"), m, 5, lr);
            AutoencoderRun.resume(r.lastCheckpoint(), fresh);
            assertEquals(3, fresh.getGlobalStep());
            Map<String, NDArray> sd = SafeTensors.readAll(r.lastCheckpoint(), m);
            assertTrue(sd.keySet().stream().anyMatch(k -> k.startsWith("loss.discriminator.")));
            assertTrue(sd.containsKey("loss.logvar"));
            assertTrue(sd.keySet().stream().anyMatch(k -> k.startsWith("loss.perceptual_loss.net.slice1.")));
            AutoencoderKL ae = AutoencoderKL.fromConfig(root.getNode("model").getNode("params"),
                    new io.github.sgm4j.config.Instantiator());
            ae.initialize(m, new TorchNoiseSource(1));
            assertTrue(ae.loadInferenceWeights(sd).isClean());
            for (Map.Entry<String, NDArray> e : ae.stateDict().entrySet()) {
                assertTrue(e.getValue().contentEquals(sd.get(e.getKey())), e.getKey());
            }
        }
    }

    @Test
    void resumeIsBitExact(@TempDir Path a, @TempDir Path b) throws Exception {
        ConfigNode root = tiny("ldm/autoencoder/autoencoder_kl_32x32x4.yaml", 2);
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderTraining whole = AutoencoderTrainers.build(root.getNode("model"), m, 3, 1e-4);
            new AutoencoderRun(whole, AutoencoderTrainingTest::images, null, new AutoencoderRun.Options(4, 2, a, 0, 0, 9))
                    .run((s, l) -> {});

            AutoencoderTraining first = AutoencoderTrainers.build(root.getNode("model"), m, 3, 1e-4);
            AutoencoderRun part = new AutoencoderRun(first, AutoencoderTrainingTest::images, null,
                    new AutoencoderRun.Options(4, 2, b, 0, 0, 9));
            part.run(new AutoencoderRun.Listener() {
                @Override
                public void onStep(long step, Map<String, Double> log) {
                    if (step == 2) {
                        part.requestStop();
                    }
                }
            });
            AutoencoderTraining resumed = AutoencoderTrainers.build(root.getNode("model"), m, 11, 1e-4);
            Long seed = AutoencoderRun.resume(b.resolve("last.safetensors"), resumed);
            assertEquals(9L, seed);
            assertEquals(2, resumed.getGlobalStep());
            new AutoencoderRun(resumed, AutoencoderTrainingTest::images, null, new AutoencoderRun.Options(4, 2, b, 0, 0, 9))
                    .run((s, l) -> {});

            Map<String, NDArray> x = SafeTensors.readAll(a.resolve("last.safetensors"), m);
            Map<String, NDArray> y = SafeTensors.readAll(b.resolve("last.safetensors"), m);
            assertEquals(x.keySet(), y.keySet());
            assertTrue(x.containsKey("loss.discriminator.main.3.running_mean"), x.keySet().toString());
            x.forEach((k, v) -> assertTrue(v.contentEquals(y.get(k)), "model tensor " + k + " differs after resume"));
            Map<String, NDArray> xo = SafeTensors.readAll(EngineCheckpointFiles.trainer(a), m);
            Map<String, NDArray> yo = SafeTensors.readAll(EngineCheckpointFiles.trainer(b), m);
            assertEquals(xo.keySet(), yo.keySet());
            assertTrue(xo.keySet().stream().anyMatch(k -> k.startsWith("opt1.")), "discriminator optimizer state saved");
            xo.forEach((k, v) -> assertTrue(v.contentEquals(yo.get(k)), "optimizer tensor " + k + " differs after resume"));
            assertArrayEquals(Files.readAllLines(a.resolve("metrics.csv")).toArray(),
                    Files.readAllLines(b.resolve("metrics.csv")).toArray());
        }
    }

    /** The trainer file beside a run's checkpoint. */
    static final class EngineCheckpointFiles {
        static Path trainer(Path dir) {
            return Checkpoints.trainerFile(dir.resolve("last.safetensors"));
        }
    }

    @Test
    void channelMismatchesAreConfigErrorsNamingTheKey() throws Exception {
        String yaml = Files.readString(Path.of("configs/mnist_autoencoder_kl_f4.yaml"));
        ConfigNode discBad = ConfigNode.parse(yaml.replace("disc_in_channels: 1", "disc_in_channels: 3"), "a.yaml");
        ConfigNode lpipsBad = ConfigNode.parse(yaml.replace("perceptual_weight: 0.0", "perceptual_weight: 1.0"), "b.yaml");
        try (NDManager m = NDManager.newBaseManager()) {
            io.github.sgm4j.config.ConfigException e1 = assertThrows(io.github.sgm4j.config.ConfigException.class,
                    () -> AutoencoderTrainers.build(discBad.getNode("model"), m, 0, 1e-4));
            assertTrue(e1.getMessage().contains("disc_in_channels"), e1.getMessage());
            io.github.sgm4j.config.ConfigException e2 = assertThrows(io.github.sgm4j.config.ConfigException.class,
                    () -> AutoencoderTrainers.build(lpipsBad.getNode("model"), m, 0, 1e-4));
            assertTrue(e2.getMessage().contains("perceptual_weight"), e2.getMessage());
        }
    }

    @Test
    void nanLossStopsWithoutWritingACheckpoint(@TempDir Path out) throws Exception {
        ConfigNode root = tiny("ldm/autoencoder/autoencoder_kl_32x32x4.yaml", 1);
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderTraining t = AutoencoderTrainers.build(root.getNode("model"), m, 0, 1e-4);
            AutoencoderRun.Batches nan = (mm, step, bs, seed) -> {
                NDArray x = images(mm, step, bs, seed);
                if (step < 1) {
                    return x;
                }
                try (x; NDArray z = x.zerosLike()) {
                    return io.github.sgm4j.nn.F.div(z, 0.0);
                }
            };
            Trainer.DivergedException e = assertThrows(Trainer.DivergedException.class,
                    () -> new AutoencoderRun(t, nan, null, new AutoencoderRun.Options(3, 2, out, 0, 0, 0)).run((s, l) -> {}));
            assertEquals(2, e.step());
            assertTrue(e.getMessage().contains("no checkpoint was written"), e.getMessage());
            assertFalse(Files.exists(out.resolve("last.safetensors")));
            assertEquals(2, Files.readAllLines(out.resolve("metrics.csv")).size(), "header + the finite step");
        }
    }

    @Test
    void missingLpipsWeightsNameTheFileAndDirectory(@TempDir Path empty) throws Exception {
        ConfigNode bad = tiny("ldm/autoencoder/autoencoder_kl_32x32x4.yaml", 1, empty);
        try (NDManager m = NDManager.newBaseManager()) {
            LpipsWeights.MissingWeightsException e = assertThrows(LpipsWeights.MissingWeightsException.class,
                    () -> AutoencoderTrainers.build(bad.getNode("model"), m, 0, 1e-4));
            assertTrue(e.getMessage().contains("vgg16.safetensors") && e.getMessage().contains(empty.toString())
                    && e.getMessage().contains(LpipsWeights.ENV), e.getMessage());
        }
    }
}
