package io.github.sgm4j.ldm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bad inputs of the ldm samplers, schedules and checkpoints fail with clear typed exceptions. */
class LdmBadInputTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A schedule-only model (T steps, linear schedule) whose eps is 0; counts its calls. */
    private final class ZeroEps implements SamplingModel {
        final int t;
        final AtomicInteger calls = new AtomicInteger();
        final Map<String, float[]> sched;

        ZeroEps(int t) {
            this.t = t;
            this.sched = DDPM.registerSchedule(LdmUtil.makeBetaSchedule("linear", t, 0.00085, 0.012, 8e-3), 0, "eps");
        }

        @Override
        public int numTimesteps() {
            return t;
        }

        @Override
        public NDArray alphasCumprod() {
            return manager.create(sched.get("alphas_cumprod"));
        }

        @Override
        public NDArray sqrtAlphasCumprod() {
            return manager.create(sched.get("sqrt_alphas_cumprod"));
        }

        @Override
        public NDArray sqrtOneMinusAlphasCumprod() {
            return manager.create(sched.get("sqrt_one_minus_alphas_cumprod"));
        }

        @Override
        public NDArray applyModel(NDArray x, NDArray ts, NDArray c) {
            calls.incrementAndGet();
            return x.zerosLike();
        }

        @Override
        public NDManager getManager() {
            return manager;
        }
    }

    @Test
    void ddimNumStepsLargerThanTimestepsIsRefused() {
        DDIMSampler s = new DDIMSampler(new ZeroEps(50));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.sample(51, 1, new Shape(4, 8, 8), null, SampleOptions.defaults(), NoiseSource.seeded(0)));
        assertTrue(e.getMessage().contains("ddim_num_steps (51)"), e.getMessage());
        assertTrue(e.getMessage().contains("(50)"), e.getMessage());
        IllegalArgumentException q = assertThrows(IllegalArgumentException.class,
                () -> new PLMSSampler(new ZeroEps(50)).makeSchedule(60, "quad", 0));
        assertTrue(q.getMessage().contains("ddim_num_steps"), q.getMessage());
    }

    @Test
    void unknownScheduleNamesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LdmUtil.makeBetaSchedule("quadratic", 10, 1e-4, 2e-2, 8e-3));
        assertTrue(e.getMessage().contains("'quadratic'"), e.getMessage());
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
                () -> new DDIMSampler(new ZeroEps(50)).makeSchedule(10, "cubic", 0));
        assertTrue(d.getMessage().contains("\"cubic\""), d.getMessage());
    }

    @Test
    void maskWhoseShapeDiffersFromTheLatentIsRefused() {
        ZeroEps model = new ZeroEps(100);
        NDArray x0 = manager.zeros(new Shape(2, 4, 8, 8));
        NDArray badMask = manager.ones(new Shape(2, 1, 4, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DDIMSampler(model).sample(
                10, 2, new Shape(4, 8, 8), null, SampleOptions.defaults().inpaint(badMask, x0), NoiseSource.seeded(0)));
        assertTrue(e.getMessage().contains("mask shape (2, 1, 4, 4)"), e.getMessage());
        assertTrue(e.getMessage().contains("(2, 4, 8, 8)"), e.getMessage());
        assertEquals(0, model.calls.get(), "refused before any model call");
        NDArray mask = manager.ones(new Shape(2, 1, 8, 8));
        IllegalArgumentException noX0 = assertThrows(IllegalArgumentException.class, () -> new PLMSSampler(model).sample(
                10, 2, new Shape(4, 8, 8), null, SampleOptions.defaults().inpaint(mask, null), NoiseSource.seeded(0)));
        assertTrue(noX0.getMessage().contains("without x0"), noX0.getMessage());
    }

    @Test
    void plmsRefusesEta() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PLMSSampler(new ZeroEps(100))
                .sample(10, 1, new Shape(4, 8, 8), null, SampleOptions.defaults().eta(0.5), NoiseSource.seeded(0)));
        assertTrue(e.getMessage().contains("ddim_eta must be 0 for PLMS"), e.getMessage());
    }

    @Test
    void samplersRunOnTheModelAndDrawEveryStep() {
        ZeroEps model = new ZeroEps(100);
        AtomicInteger draws = new AtomicInteger();
        NoiseSource counting = new CountingNoise(NoiseSource.seeded(3), draws);
        SampleResult r = new DDIMSampler(model).sample(10, 2, new Shape(4, 8, 8), null,
                SampleOptions.defaults().logEveryT(3), counting);
        assertEquals(new Shape(2, 4, 8, 8), r.samples().getShape());
        assertEquals(5, r.xInter().size());
        assertEquals(11, draws.get(), "x_T plus one noise_like draw per step (eta 0 included)");
        draws.set(0);
        new PLMSSampler(model).sample(10, 2, new Shape(4, 8, 8), null, SampleOptions.defaults(), counting);
        assertEquals(12, draws.get(), "x_T, two draws on the first PLMS step, one per later step");
    }

    @Test
    void checkpointScheduleThatDiffersFromTheConfigIsRefused() {
        DDPM m = new Instantiator().instantiate(ConfigNode.parse("""
                target: ldm.models.diffusion.ddpm.DDPM
                params:
                  timesteps: 20
                  use_ema: false
                  unet_config:
                    target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                    params: {in_channels: 3, out_channels: 3, model_channels: 32, attention_resolutions: [],
                             num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
                """, "test.yaml"), DDPM.class);
        m.initialize(manager, NoiseSource.seeded(1));
        Map<String, NDArray> sd = new LinkedHashMap<>(m.stateDict());
        float[] betas = m.getSchedule().get("betas");
        betas[7] *= 1.5f;
        sd.put("betas", manager.create(betas));
        DDPM.ScheduleMismatchException e = assertThrows(DDPM.ScheduleMismatchException.class, () -> m.loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("'betas'") && e.getMessage().contains("index 7"), e.getMessage());
        m.setAcceptCheckpointSchedule(true);
        m.loadStateDict(sd, true);
        assertEquals(betas[7], m.scheduleBuffer("betas").toFloatArray()[7]);
        assertEquals(List.of(), m.loadStateDict(m.stateDict(), true).missingKeys());
    }

    /** Counts the draws of a delegate source. */
    private record CountingNoise(NoiseSource d, AtomicInteger n) implements NoiseSource {
        @Override
        public NDArray randn(NDManager m, Shape s) {
            n.incrementAndGet();
            return d.randn(m, s);
        }

        @Override
        public NDArray randnLike(NDArray x) {
            n.incrementAndGet();
            return d.randnLike(x);
        }

        @Override
        public NDArray rand(NDManager m, Shape s) {
            n.incrementAndGet();
            return d.rand(m, s);
        }

        @Override
        public NDArray randint(NDManager m, long lo, long hi, Shape s) {
            n.incrementAndGet();
            return d.randint(m, lo, hi, s);
        }

        @Override
        public NDArray bernoulli(NDArray p) {
            n.incrementAndGet();
            return d.bernoulli(p);
        }
    }
}
