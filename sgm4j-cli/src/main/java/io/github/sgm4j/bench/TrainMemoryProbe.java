package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.Trainer;
import io.github.sgm4j.train.data.Loader;
import io.github.sgm4j.train.data.MnistData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory flatness of training: trains a config on MNIST for {@code steps} steps and prints the
 * resident set size at step 1000 and at the end as a JSON line.
 *
 * <p>Usage: {@code TrainMemoryProbe CONFIG [STEPS] [BATCH]} (defaults 5000, 16).
 */
public final class TrainMemoryProbe {

    private TrainMemoryProbe() {}

    /**
     * Current resident set size ({@code VmRSS} of {@code /proc/self/status}).
     *
     * @return the size in MiB, or -1 off Linux or when it cannot be read
     */
    static long rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Entry point: trains the config's model (random init, seed 0) on {@code data/mnist} in a temporary
     * output directory, logs the loss and RSS every 500 steps to standard error and prints the JSON
     * line to standard output. Meant for runs of more than 1000 steps.
     *
     * @param args {@code CONFIG} (an sgm YAML config), then optional {@code STEPS} (default 5000) and
     *     {@code BATCH} (default 16)
     * @throws io.github.sgm4j.train.data.DataException when {@code data/mnist} cannot be read
     * @throws java.io.UncheckedIOException when the temporary directory cannot be created
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        Path config = Path.of(args[0]);
        long steps = args.length > 1 ? Long.parseLong(args[1]) : 5000;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        MnistData data = new MnistData(new MnistData.Params(Path.of("data/mnist"), true, 28, true));
        long[] rssAt1000 = {-1};
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigNode model = ConfigNode.load(config).getNode("model");
            DiffusionEngine e = new Instantiator().instantiate(model, DiffusionEngine.class);
            e.setLearningRate(model.getDouble("base_learning_rate", 1e-4));
            e.initialize(m, new TorchNoiseSource(0));
            Path out;
            try {
                out = Files.createTempDirectory("sgm4j-memprobe");
            } catch (IOException ex) {
                throw new java.io.UncheckedIOException(ex);
            }
            long t0 = System.nanoTime();
            new Trainer(e, data, new Loader.Options(batch, 0, 1, true, false), Trainer.Options.of(steps, out, 0, 0, 0,
                    java.util.List.of(0))).run(
                    (step, r) -> {
                        if (step % 500 == 0) {
                            System.err.printf(Locale.ROOT, "step %d/%d loss %.4f rss %d MiB%n", step, steps, r.loss(), rssMb());
                        }
                        if (step == 1000) {
                            System.gc();
                            rssAt1000[0] = rssMb();
                        }
                    });
            System.gc();
            long end = rssMb();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT,
                    "{\"probe\": \"train-memory\", \"config\": \"%s\", \"steps\": %d, \"batch\": %d, \"rss_mb_step_1000\": %d,"
                            + " \"rss_mb_end\": %d, \"growth_pct\": %.2f, \"seconds\": %.0f}%n",
                    config, steps, batch, rssAt1000[0], end, 100.0 * (end - rssAt1000[0]) / rssAt1000[0], secs);
        }
    }
}
