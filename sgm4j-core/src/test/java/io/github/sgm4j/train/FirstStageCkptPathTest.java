package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.CheckpointException;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A first stage's own {@code ckpt_path} is loaded when the autoencoder is nested in a diffusion model
 * (sgm's {@code AutoencodingEngineLegacy} and ldm's {@code AutoencoderKL} load it in their
 * constructors): the stage-1 weights of the two-stage main job reach stage 2, bit for bit, in both
 * frameworks, and a file that shares no key with the autoencoder is refused naming it.
 */
class FirstStageCkptPathTest {

    /** The first stage's target and params lines in {@link LatentTrainingTest#TINY_LATENT}. */
    private static final String SGM_AE = "      target: sgm.models.autoencoder.AutoencoderKL\n      params:";

    @TempDir
    Path dir;

    /** Writes a first stage trained elsewhere: the autoencoder's tensors from another seed, plus a training-only loss key. */
    private static Map<String, byte[]> writeStage1(Module ae, NDManager m, Path file) {
        ae.initialize(m, new TorchNoiseSource(12345));
        Map<String, NDArray> sd = new LinkedHashMap<>(ae.stateDict());
        sd.put("loss.logvar", m.create(new float[] {0f}));
        SafeTensors.write(file, sd, Map.of());
        Map<String, byte[]> bytes = new LinkedHashMap<>();
        ae.stateDict().forEach((k, v) -> bytes.put(k, v.toByteArray()));
        return bytes;
    }

    private static void assertLoaded(Map<String, byte[]> expected, Module firstStage) {
        Map<String, NDArray> got = firstStage.stateDict();
        assertFalse(expected.isEmpty());
        expected.forEach((k, v) -> {
            assertTrue(got.containsKey(k), k);
            assertArrayEquals(v, got.get(k).toByteArray(), k + " is the stage-1 file's tensor");
        });
    }

    private static ConfigNode withCkptPath(String yaml, String afterLine, Path ckpt) {
        String indent = afterLine.substring(0, afterLine.length() - afterLine.stripLeading().length()) + "  ";
        String patched = yaml.replace(afterLine + "\n", afterLine + "\n" + indent + "ckpt_path: " + ckpt + "\n");
        assertTrue(patched.contains("ckpt_path: " + ckpt), "config patched");
        return ConfigNode.parse(patched, "patched.yaml");
    }

    @Test
    void sgmEngineLoadsItsFirstStagesCkptPath() throws Exception {
        String yaml = LatentTrainingTest.TINY_LATENT;
        Path ckpt = dir.resolve("stage1.safetensors");
        ConfigNode root = ConfigNode.parse(yaml, "tiny.yaml");
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderKL alone = new Instantiator().instantiate(
                    root.getNode("model").getNode("params").getNode("first_stage_config"), AutoencoderKL.class);
            Map<String, byte[]> stage1 = writeStage1(alone, m, ckpt);

            ConfigNode patched = withCkptPath(yaml, SGM_AE, ckpt);
            DiffusionEngine e = new Instantiator().instantiate(patched.getNode("model"), DiffusionEngine.class);
            e.initialize(m, new TorchNoiseSource(7));
            assertLoaded(stage1, e.getFirstStageModel());

            Path foreign = dir.resolve("foreign.safetensors");
            SafeTensors.write(foreign, Map.of("model.diffusion_model.out.2.bias", m.zeros(new ai.djl.ndarray.types.Shape(2))),
                    Map.of());
            DiffusionEngine bad = new Instantiator().instantiate(withCkptPath(yaml,
                    SGM_AE, foreign)
                    .getNode("model"), DiffusionEngine.class);
            CheckpointException ex = assertThrows(CheckpointException.class, () -> bad.initialize(m, new TorchNoiseSource(7)));
            assertTrue(ex.getMessage().contains(foreign.toString()), ex.getMessage());
            assertTrue(ex.getMessage().contains("shares no key"), ex.getMessage());
        }
    }

    @Test
    void ldmLatentDiffusionLoadsItsFirstStagesCkptPath() throws Exception {
        String yaml = Files.readString(LdmTrainingTest.CONFIG);
        ConfigNode root = ConfigNode.parse(yaml, LdmTrainingTest.CONFIG.toString());
        Path ckpt = dir.resolve("stage1.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderKL alone = new Instantiator().instantiate(
                    root.getNode("model").getNode("params").getNode("first_stage_config"), AutoencoderKL.class);
            Map<String, byte[]> stage1 = writeStage1(alone, m, ckpt);
            ConfigNode patched = withCkptPath(yaml, "      target: ldm.models.autoencoder.AutoencoderKL\n      params:", ckpt);
            LatentDiffusion ld = new Instantiator().instantiate(patched.getNode("model"), LatentDiffusion.class);
            ld.initialize(m, new TorchNoiseSource(7));
            assertLoaded(stage1, ld.getFirstStageModel());
        }
    }
}
