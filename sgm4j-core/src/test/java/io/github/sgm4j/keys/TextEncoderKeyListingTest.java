package io.github.sgm4j.keys;

import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.nn.Module;
import org.junit.jupiter.api.Test;

/**
 * The full-size text encoders built from the reference configs (no weights allocated) list the keys,
 * shapes and dtypes of {@code keys/*_text.tsv} (written by {@code
 * golden-extra/text_encoders/gen_text_keys.py} from sgm's embedders), with the checkpoints' prefixes.
 */
class TextEncoderKeyListingTest {

    @Test
    void sd1ClipViTL14() {
        Module m = KeyListings.build(KeyListings.node("sd1/v1-inference.yaml", "model.params.cond_stage_config"),
                Module.class);
        KeyListings.assertSameListing(KeyListings.reference("sd1_text.tsv"), KeyListings.listing(m, "cond_stage_model."),
                "sd1_text.tsv");
    }

    @Test
    void sd2OpenClipViTH14() {
        Module m = KeyListings.build(KeyListings.node("sd2/v2-inference.yaml", "model.params.cond_stage_config"),
                Module.class);
        KeyListings.assertSameListing(KeyListings.reference("sd2_text.tsv"), KeyListings.listing(m, "cond_stage_model."),
                "sd2_text.tsv");
    }

    @Test
    void sdxlBaseClipLAndBigG() {
        GeneralConditioner c = KeyListings.build(
                KeyListings.node("sgm/inference/sd_xl_base.yaml", "model.params.conditioner_config"),
                GeneralConditioner.class);
        KeyListings.assertSameListing(KeyListings.reference("sdxl_base_text.tsv"), KeyListings.listing(c, "conditioner."),
                "sdxl_base_text.tsv");
    }

    @Test
    void sdxlRefinerBigG() {
        GeneralConditioner c = KeyListings.build(
                KeyListings.node("sgm/inference/sd_xl_refiner.yaml", "model.params.conditioner_config"),
                GeneralConditioner.class);
        KeyListings.assertSameListing(KeyListings.reference("sdxl_refiner_text.tsv"),
                KeyListings.listing(c, "conditioner."), "sdxl_refiner_text.tsv");
    }
}
