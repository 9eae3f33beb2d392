package io.github.sgm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command-line tool end to end on tiny models: sample (sgm and ldm configs), inspect. */
class CliTest {

    static final String LDM = """
            model:
              target: ldm.models.diffusion.ddpm.DDPM
              params:
                timesteps: 20
                image_size: 8
                channels: 1
                use_ema: false
                unet_config:
                  target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                  params: {image_size: 8, in_channels: 1, out_channels: 1, model_channels: 32,
                           attention_resolutions: [], num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
            """;

    @TempDir
    Path dir;

    static int run(String... args) {
        return new CommandLine(new Sgm4j()).execute(args);
    }

    @Test
    void sampleAnSgmConfigAndInspectItsCheckpoint() throws Exception {
        Path cfg = Path.of("configs/mnist_tiny.yaml");
        Path ckpt = dir.resolve("tiny.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = new Instantiator().instantiate(ConfigNode.load(cfg).getNode("model"), DiffusionEngine.class);
            e.initialize(m, new TorchNoiseSource(1));
            Checkpoints.save(ckpt, e, 1);
        }
        assertEquals(0, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--n", "4", "--classes", "3,7",
                "--steps", "2", "--cfg", "2.0", "--ema", "--out", dir.resolve("out").toString()));
        assertTrue(Files.size(dir.resolve("out/samples.png")) > 0);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> s = SafeTensors.readAll(dir.resolve("out/samples.safetensors"), m);
            assertEquals(new Shape(4, 1, 28, 28), s.get("images").getShape());
            assertEquals(3L, s.get("labels").toLongArray()[0]);
            assertEquals(7L, s.get("labels").toLongArray()[1]);
        }
        assertEquals(0, run("inspect", ckpt.toString(), "--config", cfg.toString()));
        assertEquals(3, run("inspect", ckpt.toString(), "--config", "configs/mnist_cond_small.yaml"));
    }

    @Test
    void sampleAnLdmConfigWithDdimPlmsAndDdpm() throws Exception {
        Path cfg = dir.resolve("ldm.yaml");
        Files.writeString(cfg, LDM);
        Path ckpt = dir.resolve("ldm.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DDPM d = new Instantiator().instantiate(ConfigNode.parse(LDM, "ldm").getNode("model"), DDPM.class);
            d.initialize(m, new TorchNoiseSource(2));
            SafeTensors.write(ckpt, d.stateDict(), Map.of());
        }
        for (String s : new String[] {"ddim", "plms", "ddpm"}) {
            Path out = dir.resolve(s);
            assertEquals(0, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--n", "2", "--steps", "4",
                    "--sampler", s, "--out", out.toString()), s);
            try (NDManager m = NDManager.newBaseManager()) {
                assertEquals(new Shape(2, 1, 8, 8), SafeTensors.readAll(out.resolve("samples.safetensors"), m)
                        .get("images").getShape(), s);
            }
        }
        assertEquals(1, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--sampler", "euler", "--out",
                dir.resolve("bad").toString()));
    }
}
