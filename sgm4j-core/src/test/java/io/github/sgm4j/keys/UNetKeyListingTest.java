package io.github.sgm4j.keys;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import org.junit.jupiter.api.Test;

/**
 * The full-size UNets of SD 1.x, SD 2.x (v), SDXL base and refiner, built from the original configs
 * without allocating weights, list exactly the reference's state-dict keys, shapes and dtypes.
 */
class UNetKeyListingTest {

    static void check(String config, String path, String listing) {
        UNetModel unet = KeyListings.build(KeyListings.node(config, path), UNetModel.class);
        KeyListings.assertSameListing(KeyListings.reference(listing),
                KeyListings.listing(unet, "model.diffusion_model."), listing);
        assertFalse(unet.tensor("out.2.weight").isInitialized(), "built without allocating weights");
    }

    @Test
    void sd1() {
        check("sd1/v1-inference.yaml", "model.params.unet_config", "sd1_unet.tsv");
    }

    @Test
    void sd2v() {
        check("sd2/v2-inference-v.yaml", "model.params.unet_config", "sd2_v_unet.tsv");
    }

    @Test
    void sdxlBase() {
        check("sgm/inference/sd_xl_base.yaml", "model.params.network_config", "sdxl_base_unet.tsv");
    }

    @Test
    void sdxlRefiner() {
        check("sgm/inference/sd_xl_refiner.yaml", "model.params.network_config", "sdxl_refiner_unet.tsv");
    }
}
