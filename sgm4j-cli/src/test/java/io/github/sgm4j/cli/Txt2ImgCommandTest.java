package io.github.sgm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.pipeline.PngOutput;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code txt2img} end to end on the tiny SD 1.x config, and its input errors. */
class Txt2ImgCommandTest {

    private static final Path SD1 = Path.of("src/test/resources/pipeline/tiny-v1-inference.yaml");
    private static final Path SDXL = Path.of("src/test/resources/pipeline/tiny-sd_xl_base.yaml");

    @TempDir
    Path dir;

    private static int run(StringWriter err, String... args) {
        CommandLine cl = Sgm4j.commandLine();
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void writesPngsWithTheParametersAndRefusesBadInput() throws Exception {
        Path ckpt = dir.resolve("tiny-sd1.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = EngineLoader.config(SD1);
            DDPM model = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
            model.initialize(m, NoiseSource.seeded(1));
            SafeTensors.write(ckpt, model.stateDict(), Map.of());
        }
        Path out = dir.resolve("out");
        String longPrompt = String.join(" ", java.util.Collections.nCopies(90, "cube"));
        StringWriter err = new StringWriter();
        assertEquals(0, run(err, "txt2img", "--config", SD1.toString(), "--ckpt", ckpt.toString(), "--prompt", longPrompt,
                "--negative", "blurry", "--steps", "2", "--cfg", "5", "--size", "64x64", "--seed", "9", "--n", "2",
                "--out", out.toString()), err.toString());
        Path first = out.resolve("txt2img-s9-00000.png");
        assertTrue(Files.size(first) > 0 && Files.isRegularFile(out.resolve("txt2img-s10-00001.png")));
        Map<String, String> text = PngOutput.readText(first);
        assertEquals(longPrompt, text.get("prompt"));
        assertEquals("blurry", text.get("negative_prompt"));
        assertEquals("9", text.get("seed"));
        assertEquals("ddim", text.get("sampler"));
        assertEquals("2", text.get("steps"));
        assertEquals("5.0", text.get("cfg_scale"));
        assertEquals("tiny-sd1.safetensors", text.get("model"));

        // size not a multiple of 8: refused before loading
        StringWriter e1 = new StringWriter();
        assertEquals(1, run(e1, "txt2img", "--config", SD1.toString(), "--ckpt", ckpt.toString(), "--prompt", "",
                "--size", "60x64", "--out", out.toString()));
        assertTrue(e1.toString().contains("not a multiple of 8"), e1.toString());
        // checkpoint of another architecture: named, with the config that fits
        StringWriter e2 = new StringWriter();
        assertEquals(1, run(e2, "txt2img", "--config", SDXL.toString(), "--ckpt", ckpt.toString(), "--prompt", "x",
                "--size", "64x64", "--out", out.toString()));
        assertTrue(e2.toString().contains("SD 1.x") && e2.toString().contains("v1-inference.yaml"), e2.toString());
    }

    @Test
    void sdxlWithARefinerAndImg2Img() throws Exception {
        Path ckpt = dir.resolve("tiny-sdxl.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            SafeTensors.write(ckpt, EngineLoader.load(EngineLoader.config(SDXL), m, 1).stateDict(), Map.of());
        }
        Path out = dir.resolve("out");
        StringWriter err = new StringWriter();
        // the tiny base stands in for the refiner (the pipeline warns): the refiner path end to end
        assertEquals(0, run(err, "txt2img", "--config", SDXL.toString(), "--ckpt", ckpt.toString(), "--prompt", "a cube",
                "--steps", "2", "--size", "64x64", "--sampler", "EulerEDMSampler", "--refiner-config", SDXL.toString(),
                "--refiner-ckpt", ckpt.toString(), "--refiner-strength", "0.5", "--out", out.toString()), err.toString());
        Path png = out.resolve("txt2img-s0-00000.png");
        Map<String, String> text = PngOutput.readText(png);
        assertEquals("tiny-sdxl.safetensors", text.get("refiner"));
        assertEquals("EulerEDMSampler", text.get("sampler"));
        StringWriter err2 = new StringWriter();
        assertEquals(0, run(err2, "img2img", "--config", SDXL.toString(), "--ckpt", ckpt.toString(), "--prompt", "a cube",
                "--init", png.toString(), "--strength", "0.5", "--steps", "2", "--out", out.toString()), err2.toString());
        assertEquals("0.5", PngOutput.readText(out.resolve("img2img-s0-00000.png")).get("strength"));
    }
}
