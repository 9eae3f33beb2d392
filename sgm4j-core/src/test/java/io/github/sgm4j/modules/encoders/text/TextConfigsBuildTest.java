package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.keys.KeyListings;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The text-to-image inference configs build completely (every target available) from shape-only
 * specs: nothing is allocated, and the tokenizers are resolved only when a prompt is encoded.
 */
class TextConfigsBuildTest {

    static DiffusionEngine engine(String config) {
        return new Instantiator().instantiate(KeyListings.node(config, "model"), DiffusionEngine.class);
    }

    static List<AbstractEmbModel> embedders(DiffusionEngine e) {
        return ((GeneralConditioner) e.child("conditioner")).getEmbedders();
    }

    @Test
    void sdxlBase() {
        List<AbstractEmbModel> em = embedders(engine("sgm/inference/sd_xl_base.yaml"));
        FrozenCLIPEmbedder clip = assertInstanceOf(FrozenCLIPEmbedder.class, em.get(0));
        assertEquals("hidden", clip.params().layer());
        assertEquals(11, clip.params().layerIdx());
        assertEquals("txt", clip.getInputKey());
        FrozenOpenCLIPEmbedder2 big = assertInstanceOf(FrozenOpenCLIPEmbedder2.class, em.get(1));
        assertEquals(new OpenClipTextModel.Arch(49408, 1280, 32, 20, 77, 1280), big.model().arch());
        assertTrue(big.params().alwaysReturnPooled() && !big.params().legacy());
        assertEquals(5, em.size()); // + original_size_as_tuple, crop_coords_top_left, target_size_as_tuple
    }

    @Test
    void sdxlRefiner() {
        List<AbstractEmbModel> em = embedders(engine("sgm/inference/sd_xl_refiner.yaml"));
        assertInstanceOf(FrozenOpenCLIPEmbedder2.class, em.get(0));
    }

    @Test
    void sd21AndSd21v768() {
        for (String c : List.of("sgm/inference/sd_2_1.yaml", "sgm/inference/sd_2_1_768.yaml")) {
            FrozenOpenCLIPEmbedder h = assertInstanceOf(FrozenOpenCLIPEmbedder.class, embedders(engine(c)).get(0));
            assertEquals(new OpenClipTextModel.Arch(49408, 1024, 24, 16, 77, 1024), h.model().arch(), c);
            assertEquals("penultimate", h.params().layer(), c);
        }
    }

    @Test
    void unknownVersionAndArchAreConfigErrors() {
        ConfigNode clip = ConfigNode.parse("target: sgm.modules.encoders.modules.FrozenCLIPEmbedder\n"
                + "params:\n  version: openai/clip-vit-huge-patch3\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(clip));
        assertTrue(e.getMessage().contains("params.version") && e.getMessage().contains("openai/clip-vit-huge-patch3")
                && e.getMessage().contains("openai/clip-vit-large-patch14"), e.getMessage());
        ConfigNode oc = ConfigNode.parse("target: sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder2\n"
                + "params:\n  arch: ViT-Q-99\n", "t.yaml");
        e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(oc));
        assertTrue(e.getMessage().contains("params.arch") && e.getMessage().contains("ViT-bigG-14"), e.getMessage());
        ConfigNode pooled = ConfigNode.parse("target: sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder2\n"
                + "params:\n  always_return_pooled: true\n", "t.yaml");
        e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(pooled));
        assertTrue(e.getMessage().contains("legacy"), e.getMessage());
        ConfigNode hidden = ConfigNode.parse("target: sgm.modules.encoders.modules.FrozenCLIPEmbedder\n"
                + "params:\n  layer: hidden\n", "t.yaml");
        e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(hidden));
        assertTrue(e.getMessage().contains("layer_idx"), e.getMessage());
    }

    @Test
    void configBuiltEmbeddersTokenizeLikeTheReference() {
        List<?> embedders = embedders(engine("sgm/inference/sd_xl_base.yaml"));
        FrozenCLIPEmbedder clip = assertInstanceOf(FrozenCLIPEmbedder.class, embedders.get(0));
        FrozenOpenCLIPEmbedder2 big = assertInstanceOf(FrozenOpenCLIPEmbedder2.class, embedders.get(1));
        assertArrayEquals(new ClipTokenizer().encodeRow("a photo of a cat"),
                clip.tokenizer().encode(List.of("a photo of a cat"))[0]);
        assertArrayEquals(new OpenClipTokenizer().encodeRow("a photo of a cat"),
                big.tokenizer().encode(List.of("a photo of a cat"))[0]);
    }
}
