package io.github.sgm4j.ldm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A DDPM training step with EMA, then DDPM-loop sampling: finite, weights and EMA move, memory scoped. */
class DDPMTrainTest {

    @Test
    void trainStepUpdatesWeightsAndEmaThenSamples() {
        try (NDManager manager = NDManager.newBaseManager()) {
            DDPM m = new Instantiator().instantiate(ConfigNode.parse("""
                    target: ldm.models.diffusion.ddpm.DDPM
                    params:
                      timesteps: 20
                      use_ema: true
                      image_size: 8
                      channels: 3
                      original_elbo_weight: 0.1
                      unet_config:
                        target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                        params: {in_channels: 3, out_channels: 3, model_channels: 32, attention_resolutions: [],
                                 num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
                    """, "test.yaml"), DDPM.class);
            NoiseSource noise = NoiseSource.seeded(7);
            m.initialize(manager, noise);
            AdamW opt = new AdamW(m.trainableParameters(), AdamW.Params.withLr(1e-3), manager);
            NDArray img = noise.rand(manager, new Shape(2, 8, 8, 3));
            String w = "model.diffusion_model.out.2.weight";
            float before = m.tensor(w).getArray().toFloatArray()[0];
            Map<String, Double> log = null;
            for (int i = 0; i < 3; i++) {
                log = m.trainStep(Map.of("image", img), opt, noise);
            }
            assertTrue(Double.isFinite(log.get("loss")), log.toString());
            assertTrue(log.containsKey("train/loss_simple") && log.containsKey("train/loss_vlb"), log.toString());
            assertFalse(before == m.tensor(w).getArray().toFloatArray()[0], "weights moved");
            assertEquals(3, m.getModelEma().getNumUpdates());
            m.eval();
            try (AutoCloseable ignored = m.emaScope()) {
                SampleResult r = m.pSampleLoop(new Shape(2, 3, 8, 8), null, SampleOptions.defaults().logEveryT(5), noise);
                assertEquals(new Shape(2, 3, 8, 8), r.samples().getShape());
                assertEquals(1 + 4 + 1, r.xInter().size(), "x_T, t % 5 == 0 (4 of them) and T-1");
                assertTrue(Float.isFinite(r.samples().abs().max().getFloat()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }
}
