package io.github.sgm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.TorchCheckpointWriter;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.CheckpointException;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Img2ImgDiscretizationWrapper;
import io.github.sgm4j.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random-weight single-file checkpoints in the SD 1.x and SDXL key layouts (tiny configs derived
 * from {@code v1-inference.yaml} and {@code sd_xl_base.yaml}, {@code src/test/resources/pipeline/}),
 * written as {@code .ckpt} (torch zip, Lightning nesting) and {@code .safetensors} (fp16 for SD 1.x),
 * load strictly and run txt2img end to end at 64x64 in 2 steps: deterministic per seed, changed by
 * the negative prompt.
 */
class SamplingPipelineTest {

    private static final Path SD1 = Path.of("src/test/resources/pipeline/tiny-v1-inference.yaml");
    private static final Path SDXL = Path.of("src/test/resources/pipeline/tiny-sd_xl_base.yaml");
    private static final Path SD2 = Path.of("src/test/resources/pipeline/tiny-sd_2_1.yaml");

    @TempDir
    Path dir;

    /** The random weights of the config's model, by key (seeded init 1), as host-independent copies. */
    private static Map<String, NDArray> randomStateDict(ConfigNode root, NDManager m, boolean ldm) {
        Module model;
        if (ldm) {
            model = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
            model.initialize(m, NoiseSource.seeded(1));
        } else {
            model = EngineLoader.load(root, m, 1);
        }
        // every parameter random (the init zeroes the UNet's output and attention projections,
        // which would make the images independent of the prompt)
        NoiseSource noise = NoiseSource.seeded(2);
        Map<String, NDArray> out = new LinkedHashMap<>();
        java.util.Set<String> params = model.namedParameters().keySet();
        model.stateDict().forEach((k, v) -> {
            if (params.contains(k) && v.getDataType() == DataType.FLOAT32 && v.getShape().dimension() > 0) {
                out.put(k, io.github.sgm4j.nn.F.mul(noise.randn(m, v.getShape()), 0.1));
            } else {
                out.put(k, v);
            }
        });
        return out;
    }

    private static float[] floats(NDArray a) {
        return a.toType(DataType.FLOAT32, false).toFloatArray();
    }

    @Test
    void sd1CheckpointsLoadStrictlyAndGenerate() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = EngineLoader.config(SD1);
            Map<String, NDArray> sd = randomStateDict(root, m, true);
            assertEquals(ModelFamily.SD1, ModelFamily.detect(sd.keySet()));
            String posIds = "cond_stage_model.transformer.text_model.embeddings.position_ids";
            assertTrue(sd.containsKey(posIds), sd.keySet().toString());
            // a torch zip .ckpt, Lightning-style, without position_ids (as some SD 1.x files) and with EMA counters
            Map<String, NDArray> ckptSd = new LinkedHashMap<>(sd);
            ckptSd.remove(posIds);
            Path ckpt = dir.resolve("tiny-sd1.ckpt");
            TorchCheckpointWriter.write(ckpt, ckptSd, new LinkedHashMap<>(Map.of("global_step", 7L)));
            // an fp16 .safetensors
            Map<String, NDArray> half = new LinkedHashMap<>();
            sd.forEach((k, v) -> half.put(k, v.getDataType() == DataType.FLOAT32 ? v.toType(DataType.FLOAT16, false) : v));
            Path st = dir.resolve("tiny-sd1.safetensors");
            SafeTensors.write(st, half, Map.of());

            String key = "model.diffusion_model.input_blocks.0.0.weight";
            float[] expected = floats(sd.get(key));
            // the fp16 file: loads strictly, weights within half precision (schedule buffers kept float32)
            SamplingPipeline p16 = SamplingPipeline.fromConfig(root, st, m);
            assertArrayEquals(expected, floats(p16.ldm().stateDict().get(key)), 2e-3f);
            p16.ldm().release();
            // the .ckpt: exact weights, position_ids filled, txt2img end to end
            SamplingPipeline p = SamplingPipeline.fromConfig(root, ckpt, m);
            assertEquals(ModelFamily.SD1, p.family());
            assertArrayEquals(expected, floats(p.ldm().stateDict().get(key)), 0f, "fp32 .ckpt weights load exactly");
            assertArrayEquals(new long[] {0, 1, 2, 76},
                    pick(p.ldm().stateDict().get(posIds).toLongArray(), 0, 1, 2, 76), "position_ids filled");
            GenerationOptions o = GenerationOptions.defaults().withSteps(2).withSize(64, 64).withSeed(5);
            NDArray a = p.txt2img("a red cube", "", o);
            NDArray b = p.txt2img("a red cube", "", o);
            assertEquals(new Shape(1, 3, 64, 64), a.getShape());
            assertArrayEquals(floats(a), floats(b), 0f, "same seed, same image");
            NDArray neg = p.txt2img("a red cube", "blurry", o);
            assertFalse(Arrays.equals(floats(a), floats(neg)), "the negative prompt changes the image");
            for (float x : floats(a)) {
                assertTrue(x >= -1f && x <= 1f && Float.isFinite(x));
            }
            // img2img as ldm's img2img.py: strength 0.5 of 2 DDIM steps runs one step
            int[] steps = {0};
            NDArray i2i = p.img2img(a, "a blue cube", "", o.withStrength(0.5).withProgress((s, t) -> steps[0]++));
            assertEquals(new Shape(1, 3, 64, 64), i2i.getShape());
            assertEquals(1, steps[0]);
            assertThrows(IllegalArgumentException.class, () -> p.img2img(a, "x", "", o.withStrength(1.0)),
                    "t_enc must be below the steps");
        }
    }

    private static long[] pick(long[] a, int... idx) {
        long[] out = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    @Test
    void sdxlCheckpointsLoadStrictlyAndGenerate() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = EngineLoader.config(SDXL);
            Map<String, NDArray> sd = randomStateDict(root, m, false);
            assertEquals(ModelFamily.SDXL_BASE, ModelFamily.detect(sd.keySet()));
            Path st = dir.resolve("tiny-sdxl.safetensors");
            SafeTensors.write(st, sd, Map.of());
            Path ckpt = dir.resolve("tiny-sdxl.ckpt");
            TorchCheckpointWriter.write(ckpt, sd, null);
            String key = "conditioner.embedders.1.model.ln_final.weight";
            SamplingPipeline fromCkpt = SamplingPipeline.fromConfig(root, ckpt, m);
            assertEquals(ModelFamily.SDXL_BASE, fromCkpt.family());
            for (String k : List.of(key, "model.diffusion_model.out.2.weight", "first_stage_model.decoder.conv_out.bias")) {
                assertArrayEquals(floats(sd.get(k)), floats(fromCkpt.engine().stateDict().get(k)), 0f, k);
            }
            fromCkpt.engine().release();
            SamplingPipeline p = SamplingPipeline.fromConfig(root, st, m);
            assertArrayEquals(floats(sd.get(key)), floats(p.engine().stateDict().get(key)), 0f);
            GenerationOptions o = GenerationOptions.defaults().withSteps(2).withSize(64, 64).withSeed(11)
                    .withSampler("EulerEDMSampler");
            NDArray a = p.txt2img("a red cube", "", o.withN(2));
            NDArray b = p.txt2img("a red cube", "", o.withN(2));
            assertEquals(new Shape(2, 3, 64, 64), a.getShape());
            assertArrayEquals(floats(a), floats(b), 0f, "same seed, same images");
            assertFalse(Arrays.equals(floats(a.get("0")), floats(a.get("1"))), "the batch's images differ");
            NDArray neg = p.txt2img("a red cube", "blurry", o);
            assertFalse(Arrays.equals(floats(a.get("0:1")), floats(neg)), "a non-empty negative prompt changes the image");
            // img2img from a generated image, and the base -> refiner path on latents (the base as its own refiner)
            NDArray i2i = p.img2img(a.get("0:1"), "a blue cube", "", o.withStrength(0.5));
            assertEquals(new Shape(1, 3, 64, 64), i2i.getShape());
            int[] steps = {0};
            NDArray refined = p.txt2img("a red cube", "", o.withRefiner(p, 0.5).withProgress((s, t) -> steps[0]++));
            assertEquals(new Shape(1, 3, 64, 64), refined.getShape());
            assertTrue(steps[0] >= 2, "progress reported " + steps[0] + " steps");
            assertThrows(IllegalArgumentException.class, () -> p.txt2img("x", "", o.withSize(60, 64)),
                    "size not a multiple of 8");
        }
    }

    @Test
    void sd2FileInTheLdmLayoutLoadsIntoTheSgmConfig() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = EngineLoader.config(SD2);
            Map<String, NDArray> sd = randomStateDict(root, m, false);
            // the released SD 2.x layout: the text tower under cond_stage_model.model.*, plus ldm's schedule buffers
            Map<String, NDArray> ldmLayout = new LinkedHashMap<>();
            sd.forEach((k, v) -> ldmLayout.put(k.startsWith("conditioner.embedders.0.")
                    ? "cond_stage_model." + k.substring("conditioner.embedders.0.".length()) : k, v));
            ldmLayout.put("betas", sd.get("model.diffusion_model.out.2.bias"));
            assertEquals(ModelFamily.SD2_LDM, ModelFamily.detect(ldmLayout.keySet()));
            Path ckpt = dir.resolve("tiny-sd2.ckpt");
            TorchCheckpointWriter.write(ckpt, ldmLayout, new LinkedHashMap<>(Map.of("global_step", 3L)));
            SamplingPipeline p = SamplingPipeline.fromConfig(root, ckpt, m);
            assertEquals(ModelFamily.SD2, p.family());
            String key = "conditioner.embedders.0.model.ln_final.weight";
            assertArrayEquals(floats(sd.get(key)), floats(p.engine().stateDict().get(key)), 0f);
            GenerationOptions o = GenerationOptions.defaults().withSteps(2).withSize(64, 64).withSeed(3);
            NDArray a = p.txt2img("a red cube", "", o);
            NDArray neg = p.txt2img("a red cube", "blurry", o);
            assertFalse(Arrays.equals(floats(a), floats(neg)), "the negative prompt changes the image");
        }
    }

    @Test
    void checkpointOfAnotherFamilyIsRefusedWithTheRightConfig() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = randomStateDict(EngineLoader.config(SD1), m, true);
            Path st = dir.resolve("sd1.safetensors");
            SafeTensors.write(st, sd, Map.of());
            DiffusionEngine xl = EngineLoader.load(EngineLoader.config(SDXL), m, 0);
            CheckpointException e = assertThrows(CheckpointException.class, () -> SingleFileCheckpoint.load(st, xl));
            assertTrue(e.getMessage().contains("SD 1.x") && e.getMessage().contains("v1-inference.yaml")
                    && e.getMessage().contains("SDXL base"), e.getMessage());
            // same family, a key missing and an extra one: named
            Map<String, NDArray> broken = new LinkedHashMap<>(sd);
            broken.remove("model.diffusion_model.out.2.bias");
            broken.put("model.diffusion_model.extra.weight", sd.get("model.diffusion_model.out.2.weight"));
            Path bad = dir.resolve("broken.safetensors");
            SafeTensors.write(bad, broken, Map.of());
            DDPM ld = new Instantiator().instantiate(EngineLoader.modelNode(EngineLoader.config(SD1)), DDPM.class);
            ld.initialize(m, NoiseSource.seeded(0));
            CheckpointException e2 = assertThrows(CheckpointException.class, () -> SingleFileCheckpoint.load(bad, ld));
            assertTrue(e2.getMessage().contains("model.diffusion_model.out.2.bias")
                    && e2.getMessage().contains("model.diffusion_model.extra.weight"), e2.getMessage());
        }
    }

    @Test
    void initializeAndLoadEqualsInitializeThenLoadWithoutAllocatingFirst() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = EngineLoader.config(SD1);
            Map<String, NDArray> sd = randomStateDict(root, m, true);
            Path st = dir.resolve("sd1.safetensors");
            SafeTensors.write(st, sd, Map.of());
            DDPM before = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
            before.initialize(m, NoiseSource.seeded(0));
            SingleFileCheckpoint.load(st, before);
            DDPM direct = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
            SingleFileCheckpoint.Report r = SingleFileCheckpoint.initializeAndLoad(st, direct, m, NoiseSource.seeded(0));
            assertEquals(sd.size(), r.loaded() + r.dropped().size());
            Map<String, NDArray> a = before.stateDict();
            Map<String, NDArray> b = direct.stateDict();
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                // every tensor, loaded or config-derived, bit for bit
                assertArrayEquals(floats(a.get(k)), floats(b.get(k)), 0f, k);
            }
            // a tensor of another shape: refused naming it, before any weight is allocated
            Map<String, NDArray> reshaped = new LinkedHashMap<>(sd);
            String key = "model.diffusion_model.out.2.bias";
            reshaped.put(key, m.zeros(new Shape(sd.get(key).getShape().get(0) + 1)));
            Path bad = dir.resolve("reshaped.safetensors");
            SafeTensors.write(bad, reshaped, Map.of());
            try (NDManager m2 = NDManager.newBaseManager()) {
                DDPM fresh = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> SingleFileCheckpoint.initializeAndLoad(bad, fresh, m2, NoiseSource.seeded(0)));
                assertTrue(e.getMessage().contains(key) && e.getMessage().contains("another shape"), e.getMessage());
                assertTrue(fresh.namedTensors().values().stream().noneMatch(io.github.sgm4j.nn.Parameter::isInitialized),
                        "nothing allocated");
            }
        }
    }

    @Test
    void releasedTextEncodersStillGenerateTheEncodedPrompt() throws Exception {
        for (boolean ldm : new boolean[] {true, false}) {
            try (NDManager m = NDManager.newBaseManager()) {
                ConfigNode root = EngineLoader.config(ldm ? SD1 : SDXL);
                Path st = dir.resolve(ldm ? "release-sd1.safetensors" : "release-sdxl.safetensors");
                SafeTensors.write(st, randomStateDict(root, m, ldm), Map.of());
                SamplingPipeline p = SamplingPipeline.fromConfig(root, st, m);
                GenerationOptions o = GenerationOptions.defaults().withSteps(2).withSize(64, 64).withSeed(4)
                        .withSampler(ldm ? "ddim" : "EulerEDMSampler");
                NDArray before = p.txt2img("a red cube", "blurry", o);
                p.txt2img("another prompt", "", o);
                p.encodePrompt("a red cube", "blurry", o);
                assertTrue(p.releaseTextEncoders() > 0, "weights freed");
                NDArray after = p.txt2img("a red cube", "blurry", o);
                assertArrayEquals(floats(before), floats(after), 0f, (ldm ? "ldm" : "sgm") + ": the encoded prompt, bit for bit");
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> p.txt2img("a blue cube", "blurry", o));
                assertTrue(e.getMessage().contains("released") && e.getMessage().contains("a blue cube"), e.getMessage());
                p.close();
            }
        }
    }

    @Test
    void img2imgWrapperKeepsTheLowNoiseEnd() {
        LegacyDDPMDiscretization d = new LegacyDDPMDiscretization(LegacyDDPMDiscretization.Params.defaults());
        float[] full = d.sigmas(10);
        float[] half = new Img2ImgDiscretizationWrapper(d, 0.5).sigmas(10);
        // 11 sigmas with the zero: int(0.5 * 11) = 5 kept, the last five
        assertArrayEquals(Arrays.copyOfRange(full, 6, 11), half, 0f);
        assertArrayEquals(full, new Img2ImgDiscretizationWrapper(d, 1.0).sigmas(10), 0f);
        assertArrayEquals(new float[] {0f}, new Img2ImgDiscretizationWrapper(d, 0.0).sigmas(10), 0f);
    }

    @Test
    void pngsCarryTheParameters() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] px = new float[2 * 3 * 8 * 8];
            for (int i = 0; i < px.length; i++) {
                px[i] = (i % 17) / 8f - 1f;
            }
            NDArray img = io.github.sgm4j.engine.Tensors.create(m, px, new Shape(2, 3, 8, 8));
            Map<String, String> text = PngOutput.parameters("a caf\u00e9 \u2615", "blurry", 42, "ddim", 30, 7.5, "m.ckpt");
            List<Path> files = PngOutput.write(img, dir.resolve("out"), "img", text);
            assertEquals(2, files.size());
            assertEquals(text, PngOutput.readText(files.get(1)));
            assertTrue(SamplingPipeline.tokenCount(String.join(" ", java.util.Collections.nCopies(100, "cube"))) > 77);
        }
    }
}
