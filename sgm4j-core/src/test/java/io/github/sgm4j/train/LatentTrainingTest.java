package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.Batch;
import io.github.sgm4j.train.data.CachedLatents;
import io.github.sgm4j.train.data.Dataset;
import io.github.sgm4j.train.data.ImageFolder;
import io.github.sgm4j.train.data.ImageTransform;
import io.github.sgm4j.train.data.Item;
import io.github.sgm4j.train.data.ItemStream;
import io.github.sgm4j.train.data.Loader;
import io.github.sgm4j.train.data.MnistData;
import io.github.sgm4j.train.data.Position;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generic trainer on a latent DiffusionEngine (frozen KL first stage), on cached latents, and on
 * an image folder: exact resume from the recorded data position, strict reload, gradient
 * accumulation, the latent cache's equality with encoding on the fly, and bad input.
 */
class LatentTrainingTest {

    /** Largest difference between cached and on-the-fly latents (same noise; the encoder runs in another batch layout). */
    static final double CACHE_TOLERANCE = 1e-5;

    /** A tiny sgm latent engine: KL first stage f2 (32x32x1 -> 16x16x2), class-conditional UNet. */
    static final String TINY_LATENT = """
            model:
              base_learning_rate: 1.0e-3
              target: sgm.models.diffusion.DiffusionEngine
              params:
                use_ema: True
                scale_factor: 0.7
                denoiser_config:
                  target: sgm.modules.diffusionmodules.denoiser.Denoiser
                  params:
                    scaling_config: {target: sgm.modules.diffusionmodules.denoiser_scaling.EDMScaling}
                network_config:
                  target: sgm.modules.diffusionmodules.openaimodel.UNetModel
                  params: {image_size: 16, in_channels: 2, out_channels: 2, model_channels: 32, attention_resolutions: [],
                           num_res_blocks: 1, channel_mult: [1], num_head_channels: 32, num_classes: sequential,
                           adm_in_channels: 8}
                conditioner_config:
                  target: sgm.modules.GeneralConditioner
                  params:
                    emb_models:
                      - {is_trainable: True, input_key: cls, ucg_rate: 0.2,
                         target: sgm.modules.encoders.modules.ClassEmbedder, params: {embed_dim: 8, n_classes: 10}}
                first_stage_config:
                  target: sgm.models.autoencoder.AutoencoderKL
                  params:
                    embed_dim: 2
                    ddconfig: {double_z: True, z_channels: 2, resolution: 32, in_channels: 1, out_ch: 1, ch: 32,
                               ch_mult: [1, 2], num_res_blocks: 1, attn_resolutions: [], dropout: 0.0}
                    lossconfig: {target: torch.nn.Identity}
                loss_fn_config:
                  target: sgm.modules.diffusionmodules.loss.StandardDiffusionLoss
                  params:
                    loss_weighting_config: {target: sgm.modules.diffusionmodules.loss_weighting.EDMWeighting}
                    sigma_sampler_config: {target: sgm.modules.diffusionmodules.sigma_sampling.EDMSampling}
                sampler_config:
                  target: sgm.modules.diffusionmodules.sampling.EulerEDMSampler
                  params:
                    num_steps: 2
                    discretization_config: {target: sgm.modules.diffusionmodules.discretizer.EDMDiscretization}
            """;

    @TempDir
    Path dir;

    static DiffusionEngine engine(NDManager m, String yaml) {
        return TrainingTest.engine(m, yaml);
    }

    static MnistData mnist32() {
        return new MnistData(new MnistData.Params(Path.of("data/mnist"), true, 32, true));
    }

    static final Loader.Options BATCH4 = new Loader.Options(4, 0, 1, true, false);

    static List<Double> train(DiffusionEngine e, Dataset data, Loader.Options lo, long until, Path out, int accumulate,
            Position start) {
        List<Double> losses = new ArrayList<>();
        new Trainer(e, data, lo, new Trainer.Options(until, out, 1, 0, 3L, List.of(0, 1), accumulate)).startAt(start)
                .run(new Trainer.Listener() {
                    @Override
                    public void onStep(long step, Trainer.StepInfo r) {
                        losses.add(r.loss());
                    }
                });
        return losses;
    }

    static void assertSameWeights(DiffusionEngine a, DiffusionEngine b) {
        TrainingTest.assertSameWeights(a, b);
    }

    /** 3 steps equal 2 steps + a resumed step, the data position read from the checkpoint; the checkpoint reloads strictly. */
    @Test
    void latentEngineTrainsAndResumesExactly() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine straight = engine(m, TINY_LATENT);
            List<Double> all = train(straight, mnist32(), BATCH4, 3, dir.resolve("a"), 1, null);
            assertEquals(3, all.size());
            BufferedImage grid = ImageIO.read(dir.resolve("a/samples-000003.png").toFile());
            assertEquals(2 * (64 + 2) + 2, grid.getWidth(), "two 32-pixel samples (shown 2x) in a row");
            assertEquals(64 + 4, grid.getHeight(), "one row of 32-pixel samples decoded from 16x16 latents");

            DiffusionEngine first = engine(m, TINY_LATENT);
            List<Double> part1 = train(first, mnist32(), BATCH4, 2, dir.resolve("b"), 1, null);
            Path ckpt = dir.resolve("b/last.safetensors");
            String pos = Checkpoints.checkResumable(ckpt, false).get(Checkpoints.DATA_POSITION);
            assertEquals("0:8", pos, "two batches of 4 read");
            DiffusionEngine second = engine(m, TINY_LATENT);
            Checkpoints.resume(ckpt, second, false);
            List<Double> part2 = train(second, mnist32(), BATCH4, 3, dir.resolve("b"), 1, Position.parse(pos));
            List<Double> joined = new ArrayList<>(part1);
            joined.addAll(part2);
            assertEquals(all, joined, "losses of 2 + 1 resumed steps equal 3 uninterrupted steps");
            assertSameWeights(straight, second);

            DiffusionEngine fresh = engine(m, TINY_LATENT);
            Checkpoints.loadWeights(dir.resolve("a/last.safetensors"), fresh, false);
            assertSameWeights(straight, fresh);
        }
    }

    /** accumulate_grad_batches 2: one optimizer step per two batches, the data position two batches on. */
    @Test
    void gradientAccumulationStepsOncePerTwoBatches() {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = engine(m, TINY_LATENT);
            List<Double> losses = train(e, mnist32(), BATCH4, 2, dir.resolve("acc"), 2, null);
            assertEquals(2, losses.size());
            assertEquals(2, e.getGlobalStep());
            assertEquals("0:16", Checkpoints.checkResumable(dir.resolve("acc/last.safetensors"), false)
                    .get(Checkpoints.DATA_POSITION));
        }
    }

    /** The first {@code n} items of a data set, in its natural order. */
    record Head(Dataset inner, int n) implements Dataset {
        @Override
        public String description() {
            return "first " + n + " of " + inner.description();
        }

        @Override
        public long size() {
            return n;
        }

        @Override
        public List<String> keys() {
            return inner.keys();
        }

        @Override
        public ItemStream open(long epoch, long seed, boolean shuffle) {
            ItemStream s = inner.open(epoch, seed, false);
            return new ItemStream() {
                private int pos;

                @Override
                public Item next() {
                    return pos++ < n ? s.next() : null;
                }

                @Override
                public long skip(long count) {
                    long k = Math.min(count, n - pos);
                    pos += (int) k;
                    return s.skip(k);
                }

                @Override
                public void close() {
                    s.close();
                }
            };
        }
    }

    /** encode-dataset's cache gives the latents that encoding the images gives with the same noise; it trains. */
    @Test
    void cachedLatentsEqualEncodingOnTheFly() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = engine(m, TINY_LATENT);
            Dataset images = new Head(mnist32(), 24);
            LatentCache.Result r = LatentCache.write(e, images, new Loader.Options(1, 0, 1, false, false), 7, 10,
                    dir.resolve("cache"), null);
            assertEquals(24, r.count());
            assertEquals(2, r.shards(), "shards close at the first batch boundary past 10 images: 14 + 10");
            CachedLatents cached = new CachedLatents(dir.resolve("cache"));
            assertEquals(24, cached.size());
            Loader.Options plain = new Loader.Options(8, 0, 1, false, false);
            try (Loader a = new Loader(cached, plain, 0); Loader b = new Loader(images, plain, 0);
                    NDManager w = m.newSubManager()) {
                Batch ca = a.next();
                Batch im = b.next();
                assertEquals(ca.sources().size(), im.sources().size());
                Map<String, NDArray> cv = ca.toArrays(w);
                Map<String, NDArray> iv = im.toArrays(w);
                assertTrue(cv.get("cls").contentEquals(iv.get("cls")), "labels kept in order");
                NDArray z1 = e.sampleCachedLatents(cv.get(CachedLatents.MEAN), cv.get(CachedLatents.STD),
                        new TorchNoiseSource(5));
                NDArray z2 = e.encode(iv.get("jpg"), new TorchNoiseSource(5));
                float[] x = z1.toFloatArray();
                float[] y = z2.toFloatArray();
                assertEquals(x.length, y.length);
                double worst = 0;
                for (int i = 0; i < x.length; i++) {
                    worst = Math.max(worst, Math.abs(x[i] - y[i]));
                }
                assertTrue(worst <= CACHE_TOLERANCE, "cached vs encoded latents differ by " + worst);
            }
            assertEquals(DiffusionEngine.LATENT_MEAN, CachedLatents.MEAN);
            assertEquals(DiffusionEngine.LATENT_STD, CachedLatents.STD);
            List<Double> losses = train(e, cached, BATCH4, 2, dir.resolve("fromcache"), 1, null);
            assertEquals(2, losses.size());
        }
    }

    /** A pixel-space RGB engine trains on a folder of JPEG/PNG files with random crops; bad sizes are clear errors. */
    @Test
    void imageFolderTrainsAndSizeMustMatchTheFirstStage() throws Exception {
        Path root = dir.resolve("photos");
        Files.createDirectories(root.resolve("a"));
        Files.createDirectories(root.resolve("b"));
        java.util.Random rnd = new java.util.Random(1);
        for (int i = 0; i < 10; i++) {
            BufferedImage img = new BufferedImage(40 + i, 36, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    img.setRGB(x, y, (x * 6 + i * 20) << 16 | (y * 7) << 8 | rnd.nextInt(256));
                }
            }
            ImageIO.write(img, i % 2 == 0 ? "jpg" : "png", root.resolve((i < 5 ? "a/" : "b/") + i + (i % 2 == 0 ? ".jpg" : ".png")).toFile());
        }
        String pixel = TrainingTest.TINY.replace("in_channels: 1, out_channels: 1", "in_channels: 3, out_channels: 3");
        try (NDManager m = NDManager.newBaseManager()) {
            ImageFolder folder = new ImageFolder(new ImageFolder.Params(root, new ImageTransform(16, true, true, false),
                    ImageFolder.DEFAULT_EXTENSIONS, true, false));
            DiffusionEngine e = engine(m, pixel);
            List<Double> losses = train(e, folder, BATCH4, 2, dir.resolve("folder"), 1, null);
            assertEquals(2, losses.size());
            BufferedImage grid = ImageIO.read(dir.resolve("folder/samples-000002.png").toFile());
            assertEquals(2 * (64 + 2) + 2, grid.getWidth(), "two 16-pixel samples (shown 4x) in a row");
            assertEquals(64 + 4, grid.getHeight());

            ImageFolder odd = new ImageFolder(new ImageFolder.Params(root, new ImageTransform(15, true, false, false),
                    ImageFolder.DEFAULT_EXTENSIONS, true, false));
            DiffusionEngine latent = engine(m, TINY_LATENT.replace("in_channels: 1, out_ch: 1", "in_channels: 3, out_ch: 3"));
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                    () -> train(latent, odd, BATCH4, 1, dir.resolve("odd"), 1, null));
            assertTrue(bad.getMessage().contains("15x15") && bad.getMessage().contains("factor 2")
                    && bad.getMessage().contains("data.params.size"), bad.getMessage());
        }
    }
}
