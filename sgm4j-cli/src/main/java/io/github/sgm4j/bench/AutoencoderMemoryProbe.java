package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.models.AutoencoderTrainers;
import io.github.sgm4j.models.AutoencoderTraining;
import io.github.sgm4j.train.AutoencoderRun;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory flatness of first-stage training: trains an autoencoder config on MNIST (padded to 32x32)
 * for {@code steps} steps and prints the resident set size at step 100 and at the end as a JSON line.
 *
 * <p>Usage: {@code AutoencoderMemoryProbe CONFIG [STEPS] [BATCH]} (defaults 1000, 4).
 */
public final class AutoencoderMemoryProbe {

    private AutoencoderMemoryProbe() {}

    /**
     * Entry point: both optimizers every step (ldm) with the config's loss, random init (seed 0),
     * in a temporary output directory; logs RSS every 100 steps to standard error.
     *
     * @param args {@code CONFIG}, then optional {@code STEPS} (default 1000) and {@code BATCH} (default 4)
     * @throws java.io.UncheckedIOException when the temporary directory cannot be created
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        Path config = Path.of(args[0]);
        long steps = args.length > 1 ? Long.parseLong(args[1]) : 1000;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        MnistDataset data = MnistDataset.load(Path.of("data/mnist"), true);
        long[] rssAt100 = {-1};
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode root = ConfigNode.load(config);
            AutoencoderTraining t = AutoencoderTrainers.build(root.getNode("model"), m, 0, 1e-4);
            Path out;
            try {
                out = Files.createTempDirectory("sgm4j-ae-memprobe");
            } catch (IOException ex) {
                throw new java.io.UncheckedIOException(ex);
            }
            long t0 = System.nanoTime();
            AutoencoderRun.Batches batches = (mm, step, bs, seed) -> {
                var b = data.batch(mm, step, bs, seed);
                b.get("cls").close();
                try (var x = b.get("jpg")) {
                    return x.pad(new ai.djl.ndarray.types.Shape(2, 2, 2, 2), -1.0);
                }
            };
            new AutoencoderRun(t, batches, null, new AutoencoderRun.Options(steps, batch, out, 0, 0, 0)).run(
                    (step, log) -> {
                        if (step % 100 == 0) {
                            System.err.printf(Locale.ROOT, "step %d/%d rec %.4f rss %d MiB%n", step, steps,
                                    log.getOrDefault("rec_loss", Double.NaN), TrainMemoryProbe.rssMb());
                        }
                        if (step == 100) {
                            System.gc();
                            rssAt100[0] = TrainMemoryProbe.rssMb();
                        }
                    });
            System.gc();
            long end = TrainMemoryProbe.rssMb();
            System.out.printf(Locale.ROOT,
                    "{\"probe\": \"autoencoder-train-memory\", \"config\": \"%s\", \"steps\": %d, \"batch\": %d,"
                            + " \"rss_mb_step_100\": %d, \"rss_mb_end\": %d, \"growth_pct\": %.2f, \"seconds\": %.0f}%n",
                    config, steps, batch, rssAt100[0], end, 100.0 * (end - rssAt100[0]) / rssAt100[0],
                    (System.nanoTime() - t0) / 1e9);
        }
    }
}
