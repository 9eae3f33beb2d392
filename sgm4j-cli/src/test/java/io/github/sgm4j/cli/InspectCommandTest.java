package io.github.sgm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.noise.NoiseSource;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect --config} on a tiny SD 1.x single-file checkpoint: what a load would do (missing,
 * unexpected, dropped, derived and converted keys) and the exit code.
 */
class InspectCommandTest {

    private static final Path SD1 = Path.of("src/test/resources/pipeline/tiny-v1-inference.yaml");
    private static final Path SDXL = Path.of("src/test/resources/pipeline/tiny-sd_xl_base.yaml");
    private static final String POS_IDS = "cond_stage_model.transformer.text_model.embeddings.position_ids";

    @TempDir
    Path dir;

    record Run(int code, String out) {}

    private static Run inspect(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Sgm4j.commandLine().execute(args);
        } finally {
            System.setOut(old);
        }
        return new Run(code, buf.toString(StandardCharsets.UTF_8));
    }

    /** The tiny SD 1.x model's state dict, floats in fp16 (as released fp16 files), without position_ids. */
    private static Map<String, NDArray> halfStateDict(NDManager m) {
        DDPM model = new Instantiator().instantiate(EngineLoader.modelNode(EngineLoader.config(SD1)), DDPM.class);
        model.initialize(m, NoiseSource.seeded(1));
        Map<String, NDArray> sd = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> sd.put(k, v.getDataType() == DataType.FLOAT32 ? v.toType(DataType.FLOAT16, false) : v));
        sd.remove(POS_IDS);
        return sd;
    }

    @Test
    void reportsWhatASingleFileLoadWouldDo() {
        Path ckpt = dir.resolve("tiny-sd1-fp16.safetensors");
        int floats;
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = halfStateDict(m);
            floats = (int) sd.values().stream().filter(v -> v.getDataType() == DataType.FLOAT16).count();
            SafeTensors.write(ckpt, sd, Map.of());
        }
        Run r = inspect("inspect", ckpt.toString(), "--config", SD1.toString());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("the checkpoint holds SD 1.x weights, the config builds SD 1.x"), r.out());
        // the fp16 schedule buffers are not loaded (the config's float32 values are kept), the rest is converted
        int schedules = (int) r.out().lines().filter(l -> l.startsWith("dropped\t")).count();
        assertTrue(r.out().contains("dropped\tbetas\n") && r.out().contains("dropped\talphas_cumprod\n"), r.out());
        assertTrue(r.out().contains("derived\t" + POS_IDS + "\n"), r.out());
        assertTrue(r.out().contains("converted\tmodel.diffusion_model.out.2.weight\tF16 -> F32\n"), r.out());
        assertEquals(floats - schedules, r.out().lines().filter(l -> l.startsWith("converted\t")).count(), r.out());
        assertTrue(r.out().contains("missing 0, unexpected 0, shape mismatches 0"), r.out());
        assertTrue(r.out().contains("result: loads strictly into the config's model"), r.out());
    }

    @Test
    void namesMissingAndUnexpectedKeysAndAnotherFamily() {
        Path ckpt = dir.resolve("tiny-sd1-broken.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = halfStateDict(m);
            sd.remove("first_stage_model.decoder.conv_out.bias");
            sd.put("cond_stage_model.transformer.text_model.extra.weight", sd.get("model.diffusion_model.out.2.bias"));
            SafeTensors.write(ckpt, sd, Map.of());
        }
        Run r = inspect("inspect", ckpt.toString(), "--config", SD1.toString());
        assertEquals(3, r.code(), r.out());
        assertTrue(r.out().contains("missing 1, unexpected 1, shape mismatches 0"), r.out());
        assertTrue(r.out().contains("missing\tfirst_stage_model.decoder.conv_out.bias\n"), r.out());
        assertTrue(r.out().contains("unexpected\tcond_stage_model.transformer.text_model.extra.weight\n"), r.out());
        assertTrue(r.out().contains("result: does not load (missing, unexpected or mismatched keys above)"), r.out());

        Run x = inspect("inspect", ckpt.toString(), "--config", SDXL.toString());
        assertEquals(3, x.code(), x.out());
        assertTrue(x.out().contains("result: does not load: SD 1.x weights need configs/stable-diffusion/v1-inference.yaml"),
                x.out());
        assertFalse(x.out().contains("loads strictly"), x.out());
        for (String kind : List.of("missing\t", "unexpected\t")) {
            assertTrue(x.out().lines().anyMatch(l -> l.startsWith(kind)), kind + x.out());
        }
    }
}
