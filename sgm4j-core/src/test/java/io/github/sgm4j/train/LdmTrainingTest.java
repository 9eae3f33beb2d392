package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.models.CheckpointException;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.Batch;
import io.github.sgm4j.train.data.Loader;
import io.github.sgm4j.train.data.MnistData;
import io.github.sgm4j.train.data.Position;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ldm's class-conditional {@code LatentDiffusion} (cin-style config with a KL first stage, tiny
 * widths: {@code src/test/resources/ldm-train/cin_ldm_kl_tiny.yaml}) trained through the generic
 * {@link Trainer} on MNIST via {@link LdmTraining}: three steps, a bit-exact resume (2 + 1 steps),
 * gradient accumulation, and the checkpoint reloading strictly into a fresh model.
 */
class LdmTrainingTest {

    static final Path CONFIG = Path.of("src/test/resources/ldm-train/cin_ldm_kl_tiny.yaml");
    static final Loader.Options LOADER = new Loader.Options(4, 0, 1, true, false);
    static final long SEED = 11L;

    @TempDir
    Path dir;

    static ConfigNode root() {
        return ConfigNode.load(CONFIG);
    }

    static MnistData mnist;

    static synchronized MnistData mnist() {
        if (mnist == null) {
            mnist = new MnistData(new MnistData.Params(Path.of("data/mnist"), true, 28, true));
        }
        return mnist;
    }

    static LdmTraining model(NDManager m) {
        ConfigNode root = root();
        return LdmTraining.fromConfig(root, m, 7, root.getNode("model").getDouble("base_learning_rate"));
    }

    static List<Double> run(LdmTraining t, long steps, Path out, int accumulate, Position start) {
        List<Double> losses = new ArrayList<>();
        new Trainer(t, mnist(), LOADER, new Trainer.Options(steps, out, 0, 0, SEED, List.of(3, 7), accumulate)).startAt(start)
                .run(new Trainer.Listener() {
                    @Override
                    public void onStep(long step, Trainer.StepInfo info) {
                        losses.add(info.loss());
                    }
                });
        return losses;
    }

    /** Every tensor of the state dict and the optimizer state, as bytes. */
    static Map<String, byte[]> snapshot(LdmTraining t) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        t.model().stateDict().forEach((k, v) -> out.put(k, v.toByteArray()));
        t.configureOptimizers().stateDict().forEach((k, v) -> out.put("optimizer." + k, v.toByteArray()));
        t.configureOptimizers().stepCounts().forEach((k, v) -> out.put("optimizer.step." + k, v.toString().getBytes(StandardCharsets.UTF_8)));
        return out;
    }

    @Test
    void trainsThreeStepsResumesBitForBitAndReloadsStrictly() throws Exception {
        Map<String, byte[]> straight;
        List<Double> lossesA;
        Path outA = dir.resolve("a");
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            assertEquals("jpg", t.inputKey());
            assertEquals(List.of("cls"), t.conditioningKeys());
            assertEquals(10, t.numClasses());
            assertEquals(2, t.downsamplingFactor());
            assertTrue(t.trainableParameters().containsKey("cond_stage_model.embedding.weight"));
            lossesA = run(t, 3, outA, 1, null);
            assertEquals(3, lossesA.size());
            lossesA.forEach(l -> assertTrue(Double.isFinite(l), "loss " + l));
            assertEquals(3, t.getGlobalStep());
            assertNotEquals(1.0, t.model().getScaleFactor(), "scale_by_std rescaled on the first batch");
            assertEquals(3, t.model().getModelEma().getNumUpdates());
            straight = snapshot(t);
        }
        assertTrue(Files.exists(outA.resolve("samples-000003.png")));
        List<String> rows = Files.readAllLines(outA.resolve("metrics.csv"));
        assertEquals(4, rows.size(), "header + one row per step: " + rows);

        // the checkpoint loads strictly into a fresh model, with ldm's keys
        Path ckpt = outA.resolve("last.safetensors");
        try (NDManager m = NDManager.newBaseManager(); NDScope ignored = new NDScope()) {
            LatentDiffusion fresh = model(m).model();
            Map<String, NDArray> sd = SafeTensors.readAll(ckpt, m);
            for (String k : List.of("scale_factor", "model_ema.num_updates", "model_ema.decay",
                    "cond_stage_model.embedding.weight", "betas", "alphas_cumprod")) {
                assertTrue(sd.containsKey(k), k + " in " + ckpt);
            }
            assertTrue(sd.keySet().stream().anyMatch(k -> k.startsWith("model.diffusion_model.")));
            assertTrue(sd.keySet().stream().anyMatch(k -> k.startsWith("first_stage_model.encoder.")));
            assertTrue(sd.keySet().stream().anyMatch(k -> k.startsWith("model_ema.diffusion_model")));
            LoadResult r = fresh.loadStateDict(sd, true);
            assertTrue(r.isClean(), r.describe());
            assertArrayEquals(straight.get("scale_factor"), fresh.stateDict().get("scale_factor").toByteArray());
            assertEquals("3", SafeTensors.open(ckpt).metadata().get(Checkpoints.GLOBAL_STEP));
        }

        // 2 steps, checkpoint, resume into a fresh model, 1 more step: the same as 3 straight
        Path outB = dir.resolve("b");
        try (NDManager m = NDManager.newBaseManager()) {
            List<Double> first = run(model(m), 2, outB, 1, null);
            assertEquals(lossesA.subList(0, 2), first);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            Path last = outB.resolve("last.safetensors");
            assertEquals(SEED, t.resume(last, false));
            assertEquals(2, t.getGlobalStep());
            String pos = Checkpoints.checkResumable(last, true).get(Checkpoints.DATA_POSITION);
            List<Double> rest = run(t, 3, outB, 1, Position.parse(pos));
            assertEquals(lossesA.subList(2, 3), rest);
            Map<String, byte[]> resumed = snapshot(t);
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), "resumed run differs at " + k);
            }
        }

        // without its optimizer state a checkpoint resumes only with a fresh optimizer
        Path alone = Files.createDirectories(dir.resolve("alone")).resolve("last.safetensors");
        Files.copy(ckpt, alone);
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            assertThrows(CheckpointException.class, () -> t.resume(alone, false));
            t.resume(alone, true);
            assertEquals(3, t.getGlobalStep());
            assertTrue(t.configureOptimizers().stepCounts().values().stream().allMatch(s -> s == 0L));
            assertArrayEquals(straight.get("model_ema.num_updates"),
                    t.model().stateDict().get("model_ema.num_updates").toByteArray());
        }
    }

    @Test
    void accumulatedMicroBatchesLogOncePerStepAndSumScaledGradients() throws Exception {
        Path out = dir.resolve("acc");
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            List<Double> losses = run(t, 1, out, 2, null);
            assertEquals(1, losses.size());
            assertEquals(2, Files.readAllLines(out.resolve("metrics.csv")).size());
            assertEquals(2, t.model().getModelEma().getNumUpdates(), "one EMA update per micro-batch");
        }
        // the gradient of two micro-batches at scale 1/2 is the mean of their gradients
        List<Batch> batches = new ArrayList<>();
        try (Loader l = new Loader(mnist(), LOADER, SEED)) {
            batches.add(l.next());
            batches.add(l.next());
        }
        Map<String, float[]> accumulated;
        Map<String, float[]> mean = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            TorchNoiseSource noise = new TorchNoiseSource(5);
            for (Batch b : batches) {
                try (NDScope ignored = new NDScope()) {
                    t.forwardBackward(b.toArrays(m), noise, 0.5);
                }
            }
            accumulated = grads(t);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            LdmTraining t = model(m);
            TorchNoiseSource noise = new TorchNoiseSource(5);
            for (Batch b : batches) {
                try (NDScope ignored = new NDScope()) {
                    t.forwardBackward(b.toArrays(m), noise, 1.0);
                }
                grads(t).forEach((k, g) -> {
                    float[] acc = mean.computeIfAbsent(k, x -> new float[g.length]);
                    for (int i = 0; i < g.length; i++) {
                        acc[i] += 0.5f * g[i];
                    }
                });
                io.github.sgm4j.optim.TrainingStep.zeroGrads(t.trainableParameters().values());
            }
        }
        double worst = 0;
        for (String k : accumulated.keySet()) {
            float[] a = accumulated.get(k);
            float[] b = mean.get(k);
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-6 + 1e-4 * Math.abs(b[i])));
            }
        }
        // tolerance |a - b| <= 1e-6 + 1e-4 |b| (float32 sums in another order)
        assertTrue(worst <= 1, "accumulated vs mean gradient: worst error / tolerance " + worst);
        System.out.println("accumulated vs mean gradient: worst error / tolerance " + worst);
    }

    /**
     * Cached posterior moments ({@code latent_mean}/{@code latent_std} as {@code encode-dataset} stores
     * them) give the step that encoding the images gives with the same noise: scale_by_std, loss and
     * gradients.
     */
    @Test
    void cachedLatentsEqualEncodingOnTheFly() {
        Batch batch;
        try (Loader l = new Loader(mnist(), LOADER, SEED)) {
            batch = l.next();
        }
        try (NDManager m = NDManager.newBaseManager(); NDScope ignored = new NDScope()) {
            Map<String, NDArray> arrays = batch.toArrays(m);
            LdmTraining onTheFly = model(m);
            TrainableModel.StepLoss a = onTheFly.forwardBackward(arrays, new TorchNoiseSource(5), 1.0);
            LdmTraining cached = model(m);
            Map<String, Object> moments = new LinkedHashMap<>();
            try (DiagonalGaussianDistribution post = cached.model().encodeFirstStage(arrays.get("jpg"))) {
                moments.put(DiffusionEngine.LATENT_MEAN, post.getMean().duplicate());
                moments.put(DiffusionEngine.LATENT_STD, post.getStd().duplicate());
            }
            moments.put("cls", arrays.get("cls"));
            TrainableModel.StepLoss b = cached.forwardBackward(moments, new TorchNoiseSource(5), 1.0);
            assertEquals(onTheFly.model().getScaleFactor(), cached.model().getScaleFactor(), 1e-6);
            assertEquals(a.loss(), b.loss(), 1e-5 * Math.abs(a.loss()));
            Map<String, float[]> ga = grads(onTheFly);
            Map<String, float[]> gb = grads(cached);
            double worst = 0;
            for (String k : ga.keySet()) {
                for (int i = 0; i < ga.get(k).length; i++) {
                    worst = Math.max(worst, Math.abs(ga.get(k)[i] - gb.get(k)[i]) / (1e-6 + 1e-3 * Math.abs(ga.get(k)[i])));
                }
            }
            System.out.println("cached vs on-the-fly: loss " + a.loss() + " vs " + b.loss() + ", worst gradient error /"
                    + " tolerance " + worst);
            assertTrue(worst <= 1, "gradients differ: worst error / tolerance " + worst);
        }
    }

    static Map<String, float[]> grads(LdmTraining t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : t.trainableParameters().entrySet()) {
            out.put(e.getKey(), e.getValue().getArray().getGradient().toFloatArray());
        }
        return out;
    }
}
