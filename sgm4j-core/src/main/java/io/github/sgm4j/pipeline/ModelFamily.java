package io.github.sgm4j.pipeline;

import java.util.Set;

/**
 * The released model families, recognised by the keys of a state dict (a checkpoint's, or a model's
 * own {@link io.github.sgm4j.nn.Module#stateDictKeys()}), with the inference config that fits each.
 */
public enum ModelFamily {
    /** SD 1.x single file: {@code cond_stage_model.transformer.*} (HF CLIP ViT-L/14). */
    SD1("SD 1.x", "configs/stable-diffusion/v1-inference.yaml (ldm)"),
    /** SD 2.x single file: {@code cond_stage_model.model.*} (OpenCLIP ViT-H/14). */
    SD2_LDM("SD 2.x (ldm key layout)", "sgm configs/inference/sd_2_1.yaml or sd_2_1_768.yaml"),
    /** SD 2.x in sgm's layout: one OpenCLIP embedder {@code conditioner.embedders.0.model.*}, no size conditioning. */
    SD2("SD 2.x", "sgm configs/inference/sd_2_1.yaml or sd_2_1_768.yaml"),
    /** SD 1.x in sgm's layout: {@code conditioner.embedders.0.transformer.*} only. */
    SD1_SGM("SD 1.x (sgm key layout)", "an sgm config with one FrozenCLIPEmbedder embedder"),
    /** SDXL base: two text towers, {@code conditioner.embedders.1.model.ln_final.weight}. */
    SDXL_BASE("SDXL base", "sgm configs/inference/sd_xl_base.yaml"),
    /** SDXL refiner: one OpenCLIP bigG tower and the UNet's {@code label_emb}. */
    SDXL_REFINER("SDXL refiner", "sgm configs/inference/sd_xl_refiner.yaml"),
    /** None of the above. */
    UNKNOWN("an unrecognised model", "a config whose keys match the checkpoint");

    private final String label;
    private final String config;

    ModelFamily(String label, String config) {
        this.label = label;
        this.config = config;
    }

    /**
     * A readable name, e.g. {@code SDXL base}.
     *
     * @return the name
     */
    public String label() {
        return label;
    }

    /**
     * The config that builds this family.
     *
     * @return the config's name and origin
     */
    public String config() {
        return config;
    }

    /**
     * Whether a checkpoint of this family loads into a model of {@code model}'s family (after the
     * key remapping of {@link SingleFileCheckpoint}): the same family, or the ldm and sgm layouts of
     * SD 1.x or SD 2.x.
     *
     * @param model the model's family
     * @return true when compatible
     */
    public boolean loadsInto(ModelFamily model) {
        return this == model || (this == SD2_LDM && model == SD2) || (this == SD1 && model == SD1_SGM)
                || this == UNKNOWN || model == UNKNOWN;
    }

    /**
     * The family of a key set.
     *
     * @param keys state-dict keys
     * @return the family, {@link #UNKNOWN} when no marker key is present
     */
    public static ModelFamily detect(Set<String> keys) {
        if (keys.contains("conditioner.embedders.1.model.ln_final.weight")) {
            return SDXL_BASE;
        }
        if (keys.contains("conditioner.embedders.0.model.ln_final.weight")) {
            return keys.stream().anyMatch(k -> k.startsWith("model.diffusion_model.label_emb.")) ? SDXL_REFINER : SD2;
        }
        if (keys.contains("cond_stage_model.model.ln_final.weight")) {
            return SD2_LDM;
        }
        if (keys.stream().anyMatch(k -> k.startsWith("cond_stage_model.transformer."))) {
            return SD1;
        }
        if (keys.stream().anyMatch(k -> k.startsWith("conditioner.embedders.0.transformer."))) {
            return SD1_SGM;
        }
        return UNKNOWN;
    }
}
