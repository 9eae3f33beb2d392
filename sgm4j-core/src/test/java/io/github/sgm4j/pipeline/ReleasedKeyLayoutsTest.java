package io.github.sgm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.nn.Module;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The key layouts of the released single files (assembled from the reference's full-size key
 * listings in {@code src/test/resources/keys/}, plus ldm's schedule buffers for the ldm-trained
 * files) map without a missing or unexpected key onto the models sgm4j builds, without weights,
 * from the original inference configs: SD 1.x into {@code v1-inference.yaml}, SD 2.x ({@code
 * cond_stage_model.model.*}, remapped) into {@code sd_2_1_768.yaml}, SDXL base and refiner into
 * theirs; and a file of another family is recognised as such.
 */
class ReleasedKeyLayoutsTest {

    private static final Path KEYS = Path.of("src/test/resources/keys");
    private static final Path CONFIGS = Path.of("src/test/resources/reference-configs");

    /** ldm's DDPM buffers, saved in the SD 1.x / 2.x files. */
    private static final List<String> LDM_BUFFERS = List.of("betas", "alphas_cumprod", "alphas_cumprod_prev",
            "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
            "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
            "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2");

    private static List<String> keys(String... listings) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : listings) {
            for (String line : Files.readAllLines(KEYS.resolve(l))) {
                if (!line.isBlank()) {
                    out.add(line.split("\t", -1)[0]);
                }
            }
        }
        return out;
    }

    private static Set<String> ldmModelKeys(String config) {
        ConfigNode root = EngineLoader.config(CONFIGS.resolve(config));
        return new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class).stateDictKeys();
    }

    private static Set<String> engineKeys(String config) {
        ConfigNode root = EngineLoader.config(CONFIGS.resolve(config));
        Module m = new Instantiator().instantiate(EngineLoader.modelNode(root), DiffusionEngine.class);
        return m.stateDictKeys();
    }

    private static SingleFileCheckpoint.Plan plan(List<String> file, Set<String> model, String dtype) {
        Map<String, String> dtypes = new HashMap<>();
        file.forEach(k -> dtypes.put(k, dtype));
        return SingleFileCheckpoint.plan(file, dtypes::get, model);
    }

    private static void assertLoadsCleanly(SingleFileCheckpoint.Plan p) {
        assertTrue(p.missing().isEmpty(), "missing " + p.missing());
        assertTrue(p.unexpected().isEmpty(), "unexpected " + p.unexpected());
        assertTrue(p.fileFamily().loadsInto(p.modelFamily()), p.fileFamily() + " into " + p.modelFamily());
    }

    @Test
    void sd1FileIntoV1Inference() throws IOException {
        List<String> file = keys("sd1_unet.tsv", "sd1_vae.tsv", "sd1_text.tsv");
        file.addAll(LDM_BUFFERS);
        file.add("model_ema.decay");
        file.add("model_ema.num_updates");
        Set<String> model = ldmModelKeys("sd1/v1-inference.yaml");
        SingleFileCheckpoint.Plan p = plan(file, model, "F32");
        assertEquals(ModelFamily.SD1, p.fileFamily());
        assertLoadsCleanly(p);
        assertEquals(0, p.remapped());
        // an fp16 file: the schedule buffers are not loaded, the config's float32 ones stay
        SingleFileCheckpoint.Plan half = plan(file, model, "F16");
        assertLoadsCleanly(half);
        assertTrue(half.dropped().containsAll(LDM_BUFFERS.stream().filter(model::contains).toList()));
        // a file without position_ids: filled
        List<String> noPos = new ArrayList<>(file);
        noPos.remove("cond_stage_model.transformer.text_model.embeddings.position_ids");
        SingleFileCheckpoint.Plan p2 = plan(noPos, model, "F32");
        assertLoadsCleanly(p2);
        assertTrue(p2.derived().contains("cond_stage_model.transformer.text_model.embeddings.position_ids"));
    }

    @Test
    void sd2FileIntoSgmConfigWithTheRemap() throws IOException {
        List<String> file = keys("sd2_v_unet.tsv", "sd1_vae.tsv", "sd2_text.tsv");
        file.addAll(LDM_BUFFERS);
        SingleFileCheckpoint.Plan p = plan(file, engineKeys("sgm/inference/sd_2_1_768.yaml"), "F32");
        assertEquals(ModelFamily.SD2_LDM, p.fileFamily());
        assertEquals(ModelFamily.SD2, p.modelFamily());
        assertLoadsCleanly(p);
        assertEquals(keys("sd2_text.tsv").size(), p.remapped());
        assertEquals("conditioner.embedders.0.model.ln_final.weight", p.fileToModel().get("cond_stage_model.model.ln_final.weight"));
    }

    @Test
    void sdxlFilesIntoTheirConfigsAndNotIntoOthers() throws IOException {
        List<String> base = keys("sdxl_base_unet.tsv", "sdxl_base_vae.tsv", "sdxl_base_text.tsv");
        SingleFileCheckpoint.Plan p = plan(base, engineKeys("sgm/inference/sd_xl_base.yaml"), "F16");
        assertEquals(ModelFamily.SDXL_BASE, p.fileFamily());
        assertLoadsCleanly(p);
        List<String> refiner = keys("sdxl_refiner_unet.tsv", "sdxl_base_vae.tsv", "sdxl_refiner_text.tsv");
        SingleFileCheckpoint.Plan r = plan(refiner, engineKeys("sgm/inference/sd_xl_refiner.yaml"), "F16");
        assertEquals(ModelFamily.SDXL_REFINER, r.fileFamily());
        assertLoadsCleanly(r);
        // the base file into the SD 1.x config: recognised as another family
        SingleFileCheckpoint.Plan wrong = plan(base, ldmModelKeys("sd1/v1-inference.yaml"), "F16");
        assertFalse(wrong.fileFamily().loadsInto(wrong.modelFamily()));
        assertFalse(r.fileFamily().loadsInto(ModelFamily.SDXL_BASE));
    }
}
