package io.github.sgm4j.keys;

import io.github.sgm4j.models.AutoencoderKL;
import org.junit.jupiter.api.Test;

/** The SD VAE built from v1-inference.yaml (ldm) and sd_xl_base.yaml (sgm) lists the reference keys exactly. */
class VaeKeyListingTest {

    static void check(String config, String path, String listing) {
        AutoencoderKL vae = KeyListings.build(KeyListings.node(config, path), AutoencoderKL.class);
        KeyListings.assertSameListing(KeyListings.reference(listing), KeyListings.listing(vae, "first_stage_model."), listing);
    }

    @Test
    void sd1() {
        check("sd1/v1-inference.yaml", "model.params.first_stage_config", "sd1_vae.tsv");
    }

    @Test
    void sdxlBase() {
        check("sgm/inference/sd_xl_base.yaml", "model.params.first_stage_config", "sdxl_base_vae.tsv");
    }
}
