package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.keys.KeyListings;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.DataException;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on real MNIST: resume equals uninterrupted, checkpoint keys equal the reference, bad input. */
class TrainingTest {

    /** A tiny engine (mnist_cond family) so that the test runs in seconds. */
    static final String TINY = """
            model:
              base_learning_rate: 1.0e-3
              target: sgm.models.diffusion.DiffusionEngine
              params:
                use_ema: True
                denoiser_config:
                  target: sgm.modules.diffusionmodules.denoiser.Denoiser
                  params:
                    scaling_config:
                      target: sgm.modules.diffusionmodules.denoiser_scaling.EDMScaling
                network_config:
                  target: sgm.modules.diffusionmodules.openaimodel.UNetModel
                  params: {in_channels: 1, out_channels: 1, model_channels: 32, attention_resolutions: [],
                           num_res_blocks: 1, channel_mult: [1], num_head_channels: 32, num_classes: sequential,
                           adm_in_channels: 16, use_scale_shift_norm: True}
                conditioner_config:
                  target: sgm.modules.GeneralConditioner
                  params:
                    emb_models:
                      - {is_trainable: True, input_key: cls, ucg_rate: 0.2,
                         target: sgm.modules.encoders.modules.ClassEmbedder, params: {embed_dim: 16, n_classes: 10}}
                first_stage_config: {target: sgm.models.autoencoder.IdentityFirstStage}
                loss_fn_config:
                  target: sgm.modules.diffusionmodules.loss.StandardDiffusionLoss
                  params:
                    loss_weighting_config: {target: sgm.modules.diffusionmodules.loss_weighting.EDMWeighting}
                    sigma_sampler_config: {target: sgm.modules.diffusionmodules.sigma_sampling.EDMSampling}
                sampler_config:
                  target: sgm.modules.diffusionmodules.sampling.EulerEDMSampler
                  params:
                    num_steps: 3
                    discretization_config: {target: sgm.modules.diffusionmodules.discretizer.EDMDiscretization}
            """;

    static MnistDataset data;

    /** The loader of the tests' runs: batch 8, decoded on the caller's thread. */
    static final io.github.sgm4j.train.data.Loader.Options LOADER =
            new io.github.sgm4j.train.data.Loader.Options(8, 0, 1, true, false);

    /** The MNIST training digits as a {@link io.github.sgm4j.train.data.Dataset} (28x28, like sgm's MNISTLoader). */
    static io.github.sgm4j.train.data.MnistData mnist() {
        return new io.github.sgm4j.train.data.MnistData(
                new io.github.sgm4j.train.data.MnistData.Params(Path.of("data/mnist"), true, 28, true));
    }

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        data = MnistDataset.load(Path.of("data/mnist"), true);
    }

    static DiffusionEngine engine(NDManager m, String yaml) {
        ConfigNode root = ConfigNode.parse(yaml, "tiny.yaml");
        DiffusionEngine e = new Instantiator().instantiate(root.getNode("model"), DiffusionEngine.class);
        e.setLearningRate(root.getNode("model").getDouble("base_learning_rate"));
        e.initialize(m, new TorchNoiseSource(7));
        return e;
    }

    static List<Double> train(DiffusionEngine e, long until, Path out) {
        return train(e, until, out, 1000);
    }

    static List<Double> train(DiffusionEngine e, long until, Path out, long imageEvery) {
        List<Double> losses = new ArrayList<>();
        Trainer t = new Trainer(e, mnist(), LOADER, Trainer.Options.of(until, out, 1000, imageEvery, 11L, List.of(0, 1)));
        t.run(new Trainer.Listener() {
            @Override
            public void onStep(long step, Trainer.StepInfo r) {
                losses.add(r.loss());
            }
        });
        return losses;
    }

    @Test
    void mnistBatchesAreScaledAndDeterministic() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(60000, data.size());
            Map<String, NDArray> b = data.batch(m, 3, 16, 5);
            assertEquals(new ai.djl.ndarray.types.Shape(16, 1, 28, 28), b.get("jpg").getShape());
            float[] px = b.get("jpg").toFloatArray();
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float v : px) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertEquals(-1f, min);
            assertEquals(1f, max);
            assertArrayEquals(b.get("cls").toLongArray(), data.batch(m, 3, 16, 5).get("cls").toLongArray());
            MnistDataset test = MnistDataset.load(Path.of("data/mnist"), false);
            assertEquals(10000, test.size());
        }
    }

    @Test
    void resumeContinuesExactly() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine straight = engine(m, TINY);
            List<Double> all = train(straight, 5, dir.resolve("straight"));

            DiffusionEngine first = engine(m, TINY);
            List<Double> part1 = train(first, 3, dir.resolve("resumed"));
            Path ckpt = dir.resolve("resumed/last.safetensors");
            assertTrue(Files.exists(Checkpoints.trainerFile(ckpt)));
            DiffusionEngine second = engine(m, TINY);
            Checkpoints.resume(ckpt, second);
            assertEquals(3, second.getGlobalStep());
            List<Double> part2 = train(second, 5, dir.resolve("resumed"));

            List<Double> joined = new ArrayList<>(part1);
            joined.addAll(part2);
            assertEquals(all, joined, "losses of 3 + 2 resumed steps equal 5 uninterrupted steps");
            assertSameWeights(straight, second);
        }
    }

    /** Both engines hold the same state-dict keys with bit-identical values. */
    static void assertSameWeights(DiffusionEngine x, DiffusionEngine y) {
        Map<String, NDArray> a = x.stateDict();
        Map<String, NDArray> b = y.stateDict();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertTrue(a.get(k).contentEquals(b.get(k)), "weights differ at " + k);
        }
    }

    /**
     * Sample grids in the middle of a run (EMA weights swapped in and out) change nothing: the
     * parameters keep learning after the swap, with the same losses and weights as a run without.
     */
    @Test
    void sampleGridsDoNotDisturbTraining() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine quiet = engine(m, TINY);
            List<Double> a = train(quiet, 5, dir.resolve("quiet"), 1000);
            DiffusionEngine gridded = engine(m, TINY);
            List<Double> b = train(gridded, 5, dir.resolve("gridded"), 2);
            assertTrue(Files.exists(dir.resolve("gridded/samples-000002.png")));
            assertEquals(a, b, "losses with sample grids at steps 2 and 4 equal the losses without");
            Map<String, NDArray> wa = quiet.stateDict();
            Map<String, NDArray> wb = gridded.stateDict();
            for (String k : wa.keySet()) {
                assertTrue(wa.get(k).contentEquals(wb.get(k)), "weights differ at " + k);
            }
            // and the network really moved after the first grid: the EMA lags behind the weights
            String w = "model.diffusion_model.out.2.weight";
            String shadow = "model_ema.diffusion_modelout2weight";
            assertTrue(!wb.get(w).contentEquals(wb.get(shadow)), "EMA equals the weights: training stopped");
        }
    }

    /**
     * The unchanged sgm toy configs train through the same Trainer: three steps at batch 8 move every
     * trainable tensor (zero-initialised output convolutions pass no gradient upstream in step 1, and
     * the resblocks' zeroed last convolutions none into their first layers in step 2), and the checkpoint written at the end loads back into a fresh engine with
     * no missing or unexpected key.
     */
    @Test
    void unchangedSgmMnistConfigsTrain() throws Exception {
        for (String name : List.of("mnist_cond.yaml", "mnist_cond_with_ema.yaml")) {
            try (NDManager m = NDManager.newBaseManager()) {
                ConfigNode model = KeyListings.node("sgm/example_training/toy/" + name, "model");
                DiffusionEngine e = new Instantiator().instantiate(model, DiffusionEngine.class);
                e.setLearningRate(model.getDouble("base_learning_rate"));
                e.initialize(m, new TorchNoiseSource(3));
                Map<String, NDArray> before = new LinkedHashMap<>();
                e.trainableParameters().forEach((k, p) -> before.put(k, p.getArray().duplicate()));
                Path out = dir.resolve(name);
                List<Double> losses = train(e, 3, out, 1000);
                assertEquals(3, losses.size());
                assertTrue(losses.stream().allMatch(Double::isFinite), name + ": losses " + losses);
                e.trainableParameters().forEach((k, p) -> assertTrue(!p.getArray().contentEquals(before.get(k)),
                        name + ": " + k + " did not move"));
                DiffusionEngine back = new Instantiator().instantiate(model, DiffusionEngine.class);
                back.attach(m);
                io.github.sgm4j.nn.LoadResult r = back.loadStateDict(SafeTensors.readAll(out.resolve("last.safetensors"), m), true);
                assertTrue(r.missingKeys().isEmpty() && r.unexpectedKeys().isEmpty(), name + ": " + r);
            }
        }
    }

    @Test
    void savedCheckpointHasTheReferenceEngineKeySet() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = KeyListings.node("sgm/example_training/toy/mnist_cond_with_ema.yaml", "model");
            DiffusionEngine e = new Instantiator().instantiate(root, DiffusionEngine.class);
            KeyListings.assertSameListing(KeyListings.reference("mnist_cond_engine.tsv"), KeyListings.listing(e, ""),
                    "mnist_cond_engine.tsv");
            e.initialize(m, new TorchNoiseSource(0));
            Path f = dir.resolve("engine.safetensors");
            Checkpoints.save(f, e, 0);
            List<String> saved = new ArrayList<>();
            try (SafeTensorsFile st = SafeTensors.open(f)) {
                for (String k : st.keys()) {
                    long[] s = st.info(k).shape();
                    StringBuilder sb = new StringBuilder(k).append('\t');
                    for (int i = 0; i < s.length; i++) {
                        sb.append(i > 0 ? "," : "").append(s[i]);
                    }
                    saved.add(sb.append('\t').append(st.info(k).dtype().equals("I32") ? "int32" : "float32").toString());
                }
            }
            List<String> expected = new ArrayList<>(KeyListings.reference("mnist_cond_engine.tsv"));
            expected.sort(null);
            saved.sort(null);
            assertEquals(expected, saved, "saved checkpoint keys, shapes and dtypes");
        }
    }

    @Test
    void badInput() {
        try (NDManager m = NDManager.newBaseManager()) {
            String noLoss = TINY.replaceAll("(?s)\n    loss_fn_config:.*?\n    sampler_config:", "\n    sampler_config:");
            assertTrue(!noLoss.contains("loss_fn_config"), "test set-up");
            DiffusionEngine e = engine(m, noLoss);
            Map<String, NDArray> batch = data.batch(m, 0, 4, 0);
            IllegalStateException noLossEx = assertThrows(IllegalStateException.class,
                    () -> e.trainStep(batch, new TorchNoiseSource(0)));
            assertTrue(noLossEx.getMessage().contains("loss_fn_config"), noLossEx.getMessage());

            DiffusionEngine ok = engine(m, TINY);
            Map<String, NDArray> missing = new LinkedHashMap<>(batch);
            missing.remove("jpg");
            IllegalArgumentException noInput = assertThrows(IllegalArgumentException.class,
                    () -> ok.trainStep(missing, new TorchNoiseSource(0)));
            assertTrue(noInput.getMessage().contains("'jpg' (input_key)"), noInput.getMessage());

            Map<String, NDArray> other = Map.of("first_stage_model.encoder.conv_in.weight", m.zeros(new ai.djl.ndarray.types.Shape(1)));
            IllegalArgumentException arch = assertThrows(IllegalArgumentException.class,
                    () -> ok.loadCheckpointStateDict(other, "vae.safetensors"));
            assertTrue(arch.getMessage().contains("another architecture"), arch.getMessage());
        }
        DataException noDir = assertThrows(DataException.class, () -> MnistDataset.load(Path.of("no/such/dir"), true));
        assertTrue(noDir.getMessage().contains("no/such/dir"), noDir.getMessage());
    }

    @Test
    void truncatedIdxFileIsAClearError() throws Exception {
        Files.write(dir.resolve("train-images-idx3-ubyte"), new byte[] {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2});
        Files.write(dir.resolve("train-labels-idx1-ubyte"), new byte[] {0, 0, 8, 1, 0, 0, 0, 10});
        DataException e = assertThrows(DataException.class, () -> MnistDataset.load(dir, true));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("train-images-idx3-ubyte"), e.getMessage());
    }
}
