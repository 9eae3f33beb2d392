package io.github.sgm4j.ldm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** scheduler_config: LatentDiffusion applies it per step (LambdaLR); plain DDPM ignores it like the reference. */
class LdmSchedulerTest {

    static final String UNET = """
              unet_config:
                target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                params: {in_channels: 3, out_channels: 3, model_channels: 32, attention_resolutions: [],
                         num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
              scheduler_config:
                target: ldm.lr_scheduler.LambdaLinearScheduler
                params: {warm_up_steps: [2], f_min: [0.5], f_max: [1.0], f_start: [0.1], cycle_lengths: [10]}
            """;

    // LambdaLinearScheduler: warm-up f_start + (f_max - f_start) n / 2, then f_min + (f_max - f_min) (10 - n) / 10
    static final double[] MULT = {0.1, 0.55, 0.9, 0.85};

    @Test
    void latentDiffusionAppliesTheSchedulerPerStep() {
        try (NDManager manager = NDManager.newBaseManager()) {
            DDPM m = new Instantiator().instantiate(ConfigNode.parse("""
                    target: ldm.models.diffusion.ddpm.LatentDiffusion
                    params:
                      timesteps: 20
                      use_ema: false
                      image_size: 8
                      channels: 3
                      first_stage_key: image
                      first_stage_config: {target: sgm.models.autoencoder.IdentityFirstStage}
                      cond_stage_config: __is_unconditional__
                    """ + UNET, "ld.yaml"), DDPM.class);
            NoiseSource noise = NoiseSource.seeded(7);
            m.initialize(manager, noise);
            AdamW opt = new AdamW(m.trainableParameters(), AdamW.Params.withLr(1e-3), manager);
            NDArray img = noise.rand(manager, new Shape(2, 8, 8, 3));
            for (int step = 0; step < MULT.length; step++) {
                Map<String, Double> log = m.trainStep(Map.of("image", img), opt, noise);
                assertEquals(1e-3 * MULT[step], log.get("lr_abs"), 1e-15, "lr of step " + step);
                assertEquals(1e-3 * MULT[step], opt.getLr(), 1e-15, "optimizer lr of step " + step);
            }
            assertEquals(MULT.length, m.getGlobalStep());
        }
    }

    @Test
    void plainDdpmIgnoresTheSchedulerLikeTheReference() {
        try (NDManager manager = NDManager.newBaseManager()) {
            DDPM m = new Instantiator().instantiate(ConfigNode.parse("""
                    target: ldm.models.diffusion.ddpm.DDPM
                    params:
                      timesteps: 20
                      use_ema: false
                      image_size: 8
                      channels: 3
                    """ + UNET, "ddpm.yaml"), DDPM.class);
            NoiseSource noise = NoiseSource.seeded(7);
            m.initialize(manager, noise);
            AdamW opt = new AdamW(m.trainableParameters(), AdamW.Params.withLr(1e-3), manager);
            NDArray img = noise.rand(manager, new Shape(2, 8, 8, 3));
            for (int step = 0; step < 2; step++) {
                Map<String, Double> log = m.trainStep(Map.of("image", img), opt, noise);
                assertFalse(log.containsKey("lr_abs"));
                assertEquals(1e-3, opt.getLr(), 0.0);
            }
        }
    }
}
