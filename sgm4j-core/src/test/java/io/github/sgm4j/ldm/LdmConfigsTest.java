package io.github.sgm4j.ldm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.keys.KeyListings;
import io.github.sgm4j.modules.encoders.text.FrozenCLIPEmbedder;
import io.github.sgm4j.models.AutoencoderKL;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Stable Diffusion 1.x and kl-based ldm configs build through the Instantiator (shape only, no
 * weight allocated); the missing text encoders are reported by YAML path and target.
 */
class LdmConfigsTest {

    private static ConfigNode model(String file) {
        return KeyListings.node(file, "model");
    }

    /** A copy of {@code model} with {@code params.cond_stage_config} replaced. */
    @SuppressWarnings("unchecked")
    private static ConfigNode withCondStage(ConfigNode model, Object condStage) {
        Map<String, Object> m = new LinkedHashMap<>(model.asMap());
        Map<String, Object> params = new LinkedHashMap<>((Map<String, Object>) m.get("params"));
        params.put("cond_stage_config", condStage);
        m.put("params", params);
        return ConfigNode.of(m);
    }

    @Test
    void v1InferenceBuildsCompletelyWithTheClipTextEncoder() {
        // shape-only: nothing is allocated; the tokenizer is resolved only when a prompt is encoded
        LatentDiffusion ld = new Instantiator().instantiate(model("sd1/v1-inference.yaml"), LatentDiffusion.class);
        assertTrue(ld.getCondStageModel() instanceof FrozenCLIPEmbedder, String.valueOf(ld.getCondStageModel()));
        assertEquals("crossattn", ld.getModel().getConditioningKey());
        List<String> all = KeyListings.listing(ld, "");
        List<String> text = all.stream().filter(l -> l.startsWith("cond_stage_model.")).toList();
        KeyListings.assertSameListing(KeyListings.reference("sd1_text.tsv"), text, "SD 1.x CLIP text encoder");
        KeyListings.assertSameListing(KeyListings.reference("sd1_unet.tsv"),
                all.stream().filter(l -> l.startsWith("model.diffusion_model.")).toList(), "SD 1.x UNet");
    }

    @Test
    void v1InferenceUnetAndVaeKeysEqualTheReference() {
        // the CLIP text encoder is out of scope: the rest of the graph is built with the cond stage left out
        LatentDiffusion ld = new Instantiator().instantiate(
                withCondStage(model("sd1/v1-inference.yaml"), "__is_unconditional__"), LatentDiffusion.class);
        List<String> all = KeyListings.listing(ld, "");
        List<String> unet = all.stream().filter(l -> l.startsWith("model.diffusion_model.")).toList();
        List<String> vae = all.stream().filter(l -> l.startsWith("first_stage_model.")).toList();
        KeyListings.assertSameListing(KeyListings.reference("sd1_unet.tsv"), unet, "SD 1.x UNet");
        KeyListings.assertSameListing(KeyListings.reference("sd1_vae.tsv"), vae, "SD 1.x VAE");
        List<String> rest = new ArrayList<>(all);
        rest.removeAll(unet);
        rest.removeAll(vae);
        List<String> expected = DDPM.SCHEDULE_BUFFERS.stream().map(k -> k + "\t1000\tfloat32").toList();
        assertEquals(expected, rest, "schedule buffers of a v1 checkpoint");
        assertEquals(0.18215, ld.getScaleFactor(), 0);
        assertTrue(ld.getFirstStageModel() instanceof AutoencoderKL);
        assertEquals(1000, ld.numTimesteps());
    }

    @Test
    void v1InferenceWithAClassEmbedderKeepsCrossattn() {
        Map<String, Object> ce = Map.of("target", "ldm.modules.encoders.modules.ClassEmbedder",
                "params", Map.of("embed_dim", 768, "key", "class_label"));
        LatentDiffusion ld = new Instantiator().instantiate(withCondStage(model("sd1/v1-inference.yaml"), ce),
                LatentDiffusion.class);
        assertEquals("crossattn", ld.getModel().getConditioningKey());
        assertTrue(ld.getCondStageModel() instanceof ClassEmbedder);
        assertTrue(ld.stateDictKeys().contains("cond_stage_model.embedding.weight"));
    }

    @Test
    void lsunChurchesKl8BuildsUnconditionalWithScaleByStd() {
        LatentDiffusion ld = new Instantiator().instantiate(
                model("ldm/latent-diffusion/lsun_churches-ldm-kl-8.yaml"), LatentDiffusion.class);
        assertNull(ld.getModel().getConditioningKey());
        assertNull(ld.getCondStageModel());
        assertTrue(ld.stateDictKeys().contains("scale_factor"));
        assertEquals("l1", ld.getParams().lossType());
    }

    @Test
    void txt2img1p4bReportsTheMissingBertEmbedder() {
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(
                model("ldm/latent-diffusion/txt2img-1p4B-eval.yaml"), LatentDiffusion.class));
        assertTrue(e.getMessage().contains("cond_stage_config.target"), e.getMessage());
        assertTrue(e.getMessage().contains("BERTEmbedder"), e.getMessage());
    }

    @Test
    void unknownBetaScheduleNamesTheKey() {
        ConfigNode node = ConfigNode.parse("""
                target: ldm.models.diffusion.ddpm.DDPM
                params:
                  beta_schedule: quadratic
                  use_ema: false
                  unet_config:
                    target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                    params: {in_channels: 3, out_channels: 3, model_channels: 32, attention_resolutions: [],
                             num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
                """, "test.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(node, DDPM.class));
        assertTrue(e.getMessage().contains("params.beta_schedule"), e.getMessage());
        assertTrue(e.getMessage().contains("quadratic"), e.getMessage());
    }
}
