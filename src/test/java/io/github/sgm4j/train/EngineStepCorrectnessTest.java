package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Training-step correctness: any thread, dropout, modes after a step, frozen parts. */
class EngineStepCorrectnessTest {

    static MnistDataset data;

    @BeforeAll
    static void load() {
        data = MnistDataset.load(Path.of("data/mnist"), true);
    }

    static String withDropout(String yaml) {
        return yaml.replace("use_scale_shift_norm: True}", "use_scale_shift_norm: True, dropout: 0.3}");
    }

    static String frozenEmbedder(String yaml) {
        return yaml.replace("is_trainable: True", "is_trainable: False");
    }

    /** Runs {@code steps} engine steps; returns the losses then the state dict values (as float arrays). */
    static List<Object> engineRun(String yaml, int steps) {
        List<Object> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, yaml);
            TorchNoiseSource noise = new TorchNoiseSource(0);
            for (int s = 0; s < steps; s++) {
                noise.reseed(Trainer.stepSeed(3, s));
                out.add(e.trainStep(data.batch(m, s, 4, 3), noise).loss());
            }
            for (Map.Entry<String, NDArray> kv : e.stateDict().entrySet()) {
                out.add(kv.getKey() + "=" + java.util.Arrays.toString(kv.getValue().toType(ai.djl.ndarray.types.DataType.FLOAT64, true).toDoubleArray()));
            }
        }
        return out;
    }

    static <T> T onFreshThread(Callable<T> task) throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            return ex.submit(task).get(10, TimeUnit.MINUTES);
        } finally {
            ex.shutdownNow();
        }
    }

    /** libtorch's grad mode is per thread: a step on a fresh thread works and equals the main thread's bit for bit. */
    @Test
    void engineTrainStepOnAnotherThreadEqualsMainThread() throws Exception {
        List<Object> main = engineRun(TrainingTest.TINY, 1);
        List<Object> other = onFreshThread(() -> engineRun(TrainingTest.TINY, 1));
        assertEquals(main, other);
    }

    static List<Object> ddpmRun(int steps) {
        List<Object> out = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            DDPM m = new Instantiator().instantiate(ConfigNode.parse("""
                    target: ldm.models.diffusion.ddpm.DDPM
                    params:
                      timesteps: 20
                      use_ema: true
                      image_size: 8
                      channels: 3
                      unet_config:
                        target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                        params: {in_channels: 3, out_channels: 3, model_channels: 32, attention_resolutions: [],
                                 num_res_blocks: 1, channel_mult: [1], num_head_channels: 32, dropout: 0.2}
                    """, "test.yaml"), DDPM.class);
            NoiseSource noise = NoiseSource.seeded(7);
            m.initialize(manager, noise);
            m.eval();
            AdamW opt = new AdamW(m.trainableParameters(), AdamW.Params.withLr(1e-3), manager);
            NDArray img = noise.rand(manager, new Shape(2, 8, 8, 3));
            for (int i = 0; i < steps; i++) {
                out.add(m.trainStep(Map.of("image", img), opt, noise).get("loss"));
            }
            assertFalse(m.isTraining(), "DDPM back in eval mode after the step");
            out.add(java.util.Arrays.toString(m.tensor("model.diffusion_model.out.2.weight").getArray().toFloatArray()));
            out.add(java.util.Arrays.toString(m.tensor("model_ema.diffusion_modelout2weight").getArray().toFloatArray()));
        }
        return out;
    }

    /** ldm's DDPM.trainStep (with dropout) on a fresh thread equals the main thread's bit for bit. */
    @Test
    void ddpmTrainStepOnAnotherThreadEqualsMainThread() throws Exception {
        List<Object> main = ddpmRun(2);
        List<Object> other = onFreshThread(() -> ddpmRun(2));
        assertEquals(main, other);
    }

    /** dropout > 0 trains (the step's noise reaches Dropout) reproducibly; outside a step it is a clear error. */
    @Test
    void dropoutConfigTrainsReproducibly() {
        String yaml = withDropout(TrainingTest.TINY);
        List<Object> a = engineRun(yaml, 2);
        List<Object> b = engineRun(yaml, 2);
        assertEquals(a, b);
        assertTrue(Double.isFinite((Double) a.get(0)));
        assertFalse(a.equals(engineRun(TrainingTest.TINY, 2)), "dropout changes the step");
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, yaml);
            e.train();
            NDArray x = m.zeros(new Shape(2, 1, 28, 28));
            NDArray t = m.ones(new Shape(2));
            Map<String, NDArray> c = new LinkedHashMap<>();
            c.put("vector", m.zeros(new Shape(2, 16)));
            IllegalStateException err = assertThrows(IllegalStateException.class,
                    () -> ((io.github.sgm4j.modules.diffusionmodules.DiffusionNetwork) e.getModel()).forward(x, t, c));
            assertTrue(err.getMessage().contains("Dropout(p=0.3)") && err.getMessage().contains("noise source"),
                    err.getMessage());
        }
    }

    /** A failed step (non-finite loss) leaves the engine in the modes it had before. */
    @Test
    void failedStepRestoresEvalMode() {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            e.eval();
            Map<String, NDArray> batch = new LinkedHashMap<>(data.batch(m, 0, 4, 3));
            batch.put("jpg", batch.get("jpg").mul(Float.NaN));
            assertThrows(DiffusionEngine.NonFiniteLossException.class, () -> e.trainStep(batch, NoiseSource.seeded(1)));
            assertFalse(e.getModel().isTraining(), "network still in eval mode after the failed step");
            e.trainStep(data.batch(m, 0, 4, 3), NoiseSource.seeded(1));
            for (Map.Entry<Module, Boolean> mode : e.trainingModes().entrySet()) {
                assertFalse(mode.getValue(), mode.getKey().getClass().getSimpleName() + " left in training mode");
            }
        }
    }

    /** Frozen parts (non-trainable embedder, first stage) stay in eval mode in train() and after a step. */
    @Test
    void frozenEmbedderAndFirstStageStayInEval() {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, frozenEmbedder(TrainingTest.TINY));
            AbstractEmbModel emb = e.getConditioner().getEmbedders().get(0);
            e.train();
            assertTrue(e.getModel().isTraining());
            assertFalse(emb.isTraining(), "non-trainable embedder in training mode after train()");
            assertFalse(e.getFirstStageModel().isTraining(), "first stage in training mode after train()");
            e.trainStep(data.batch(m, 0, 4, 3), NoiseSource.seeded(1));
            assertFalse(emb.isTraining(), "non-trainable embedder in training mode after trainStep");
            assertFalse(e.getFirstStageModel().isTraining(), "first stage in training mode after trainStep");
        }
    }
}
