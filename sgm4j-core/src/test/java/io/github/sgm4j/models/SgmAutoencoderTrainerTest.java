package io.github.sgm4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * sgm's kl-f4 autoencoder training configs (src/test/resources/reference-configs) build into a
 * {@link SgmAutoencoderTrainer} and train three batches (sizes shrunk, {@code disc_start} 1 so both
 * optimizers run; the structure unchanged), their state dicts reload strictly; training options
 * sgm4j does not port are typed errors naming the key.
 */
class SgmAutoencoderTrainerTest {

    private static Path lpips;

    /** A directory with random LPIPS weights (the configs use LPIPS). */
    private static synchronized Path lpipsDir() throws IOException {
        if (lpips == null) {
            Path d = Files.createTempDirectory("sgm4j-lpips");
            d.toFile().deleteOnExit();
            lpips = io.github.sgm4j.testutil.LpipsTestWeights.write(d);
        }
        return lpips;
    }

    private static final Path KL_F4 = Path.of("src/test/resources/reference-configs/sgm/example_training/autoencoder/kl-f4");

    /** The YAML with tiny sizes: ch 32, ch_mult [1, 1], one res block, 32x32, disc_start 1. */
    private static ConfigNode tiny(String file) throws IOException {
        String yaml = Files.readString(KL_F4.resolve(file))
                .replaceAll("(?m)^(\\s+)ch: 128$", "$1ch: 32")
                .replaceAll("(?m)^(\\s+)ch_mult: \\[[0-9, ]+\\]$", "$1ch_mult: [1, 1]")
                .replaceAll("(?m)^(\\s+)num_res_blocks: [0-9]+$", "$1num_res_blocks: 1")
                .replaceAll("(?m)^(\\s+)resolution: 256$", "$1resolution: 32")
                .replaceAll("(?m)^(\\s+)disc_start: 20001$", "$1disc_start: 1")
                .replace("        learn_logvar: True\n", "        learn_logvar: True\n        lpips_dir: '" + lpipsDir() + "'\n");
        return ConfigNode.parse(yaml, file).getNode("model");
    }

    @ParameterizedTest
    @ValueSource(strings = {"imagenet-attnfree-logvar.yaml", "imagenet-kl_f8_8chn.yaml"})
    void klF4ConfigsTrainThreeStepsAndReloadStrictly(String file) throws IOException {
        ConfigNode model = tiny(file);
        try (NDManager m = NDManager.newBaseManager()) {
            SgmAutoencoderTrainer t = SgmAutoencoderTrainer.fromConfig(model.getNode("params"), new Instantiator());
            t.setLearningRate(model.getDouble("base_learning_rate"));
            t.initialize(m, NoiseSource.seeded(1));
            List<SgmAutoencoderTrainer.Optimizer> opts = t.configureOptimizers(m);
            assertEquals(2, opts.size());
            assertTrue(t.autoencoderParameters().containsKey("loss.logvar"), "learn_logvar puts logvar in opt_ae");
            Map<String, NDArray> before = snapshot(t);
            NoiseSource noise = NoiseSource.seeded(7);
            List<Integer> used = new ArrayList<>();
            for (int step = 0; step < 3; step++) {
                try (NDArray x = noise.rand(m, new Shape(2, 3, 32, 32))) {
                    try (NDArray x2 = io.github.sgm4j.nn.F.mul(x, 2.0);
                            NDArray img = io.github.sgm4j.nn.F.sub(x2, 1.0)) {
                        SgmAutoencoderTrainer.StepOutput out = t.optimizerStep(img, step, step, noise);
                        used.add(out.optimizerIdx());
                        float loss = out.loss().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).getFloat();
                        assertTrue(Float.isFinite(loss), file + " step " + step + ": loss " + loss);
                        assertTrue(out.differentiable(), "disc_start 1: every step has a gradient");
                    }
                }
            }
            assertEquals(List.of(0, 1, 0), used, "batch_idx % 2 (disc_start_iter 0)");
            Map<String, NDArray> after = snapshot(t);
            assertFalse(equal(before.get("decoder.conv_out.weight"), after.get("decoder.conv_out.weight")));
            assertFalse(equal(before.get("loss.logvar"), after.get("loss.logvar")));
            assertFalse(equal(before.get("loss.discriminator.main.0.weight"), after.get("loss.discriminator.main.0.weight")));
            SgmAutoencoderTrainer reloaded = SgmAutoencoderTrainer.fromConfig(tiny(file).getNode("params"), new Instantiator());
            reloaded.attach(m);
            reloaded.loadStateDict(t.stateDict(), true);
            reloaded.stateDict().forEach((k, v) -> assertTrue(equal(v, after.get(k)), k));
            for (NDArray a : before.values()) {
                a.close();
            }
        }
    }

    private static Map<String, NDArray> snapshot(SgmAutoencoderTrainer t) {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        t.stateDict().forEach((k, v) -> out.put(k, v.duplicate()));
        return out;
    }

    private static boolean equal(NDArray a, NDArray b) {
        return a.getShape().equals(b.getShape()) && a.contentEquals(b);
    }

    private static ConfigNode withParam(String extraYaml, String lossExtraYaml) throws IOException {
        String yaml = Files.readString(KL_F4.resolve("imagenet-attnfree-logvar.yaml"))
                .replace("    input_key: jpg\n", "    input_key: jpg\n" + extraYaml)
                .replace("        learn_logvar: True\n", "        learn_logvar: True\n        lpips_dir: '" + lpipsDir()
                        + "'\n" + lossExtraYaml);
        return ConfigNode.parse(yaml, "bad.yaml").getNode("model").getNode("params");
    }

    @Test
    void emaDecayIsATypedErrorNamingTheKey() throws IOException {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SgmAutoencoderTrainer.fromConfig(withParam("    ema_decay: 0.999\n", ""), new Instantiator()));
        assertTrue(e.getMessage().contains("model.params.ema_decay"), e.getMessage());
        assertTrue(e.getMessage().contains("KeyError"), e.getMessage());
    }

    @Test
    void unportedLossAndOptimizerOptionsAreTypedErrors() throws IOException {
        ConfigException scale = assertThrows(ConfigException.class, () -> SgmAutoencoderTrainer.fromConfig(
                withParam("", "        scale_input_to_tgt_size: True\n"), new Instantiator()));
        assertTrue(scale.getMessage().contains("scale_input_to_tgt_size"), scale.getMessage());
        ConfigException loss = assertThrows(ConfigException.class, () -> SgmAutoencoderTrainer.fromConfig(
                withParam("", "        disc_loss: wasserstein\n"), new Instantiator()));
        assertTrue(loss.getMessage().contains("disc_loss"), loss.getMessage());
        ConfigException sgd = assertThrows(ConfigException.class, () -> SgmAutoencoderTrainer.fromConfig(
                withParam("    optimizer_config:\n      target: torch.optim.SGD\n", ""), new Instantiator()));
        assertTrue(sgd.getMessage().contains("optimizer_config.target"), sgd.getMessage());
        ConfigException wd = assertThrows(ConfigException.class, () -> SgmAutoencoderTrainer.fromConfig(
                withParam("    optimizer_config:\n      target: torch.optim.Adam\n      params:\n        weight_decay: 0.01\n",
                        ""), new Instantiator()));
        assertTrue(wd.getMessage().contains("weight_decay"), wd.getMessage());
        ConfigException groups = assertThrows(ConfigException.class, () -> SgmAutoencoderTrainer.fromConfig(
                withParam("    trainable_ae_params: [[\"encoder\\\\..*\"], [\"decoder\\\\..*\"]]\n"
                        + "    ae_optimizer_args: [{}]\n", ""), new Instantiator()));
        assertTrue(groups.getMessage().contains("ae_optimizer_args"), groups.getMessage());
    }

    @Test
    void parameterGroupsSelectByRegexWithTheirOwnArgs() throws IOException {
        ConfigNode p = withParam("    lr_g_factor: 0.5\n"
                + "    trainable_ae_params: [[\"encoder\\\\..*\"], [\"decoder\\\\.conv_out\\\\..*\", \"loss\\\\.logvar\"]]\n"
                + "    ae_optimizer_args: [{lr: 0.25, betas: [0.5, 0.9]}, {}]\n", "");
        try (NDManager m = NDManager.newBaseManager()) {
            SgmAutoencoderTrainer t = SgmAutoencoderTrainer.fromConfig(p, new Instantiator());
            t.setLearningRate(1e-3);
            t.initialize(m, NoiseSource.seeded(1));
            List<SgmAutoencoderTrainer.Optimizer> opts = t.configureOptimizers(m);
            List<io.github.sgm4j.optim.AdamW> groups = opts.get(0).groups();
            assertEquals(2, groups.size());
            assertEquals(0.25, groups.get(0).getLr(), "the group's own lr");
            assertEquals(0.5, groups.get(0).getParams().beta1());
            assertEquals(5e-4, groups.get(1).getLr(), 1e-15, "lr_g_factor * learning_rate");
            assertTrue(groups.get(0).names().stream().allMatch(n -> n.startsWith("encoder.")));
            assertEquals(List.of("decoder.conv_out.weight", "decoder.conv_out.bias", "loss.logvar"),
                    groups.get(1).names(), "pattern order, then parameter order");
            assertEquals(1e-3, opts.get(1).groups().get(0).getLr(), "the discriminator keeps learning_rate");
        }
    }
}
