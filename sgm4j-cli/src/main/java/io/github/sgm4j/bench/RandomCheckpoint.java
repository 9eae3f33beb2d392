package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.bench.workloads.LowPeakInit;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a random-weight single-file checkpoint for an inference config, in the key layout of the
 * released files of its family ({@code model.diffusion_model.*}, {@code first_stage_model.*}, {@code
 * cond_stage_model.transformer.*} or {@code conditioner.embedders.N.*}), float32, so that {@code
 * ./sgm4j txt2img --config CONFIG --ckpt FILE} can be timed and its peak memory measured at full size
 * without downloading weights (the images are noise). The model is built from the config alone
 * ({@code ckpt_path}s are not allowed) and initialised layer by layer ({@link LowPeakInit}).
 *
 * <p>Usage: {@code RandomCheckpoint CONFIG OUT.safetensors [SEED]}; prints one JSON line (tensors,
 * parameters, bytes, seconds, peak RSS of this process).
 */
public final class RandomCheckpoint {

    private RandomCheckpoint() {}

    /**
     * Entry point.
     *
     * @param args {@code CONFIG OUT.safetensors [SEED]}
     * @throws IllegalArgumentException when the arguments are missing or the config's model is
     *     neither an sgm {@code DiffusionEngine} nor an ldm {@code DDPM} family model
     */
    public static void main(String[] args) {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: RandomCheckpoint CONFIG OUT.safetensors [SEED]");
        }
        System.setProperty("ai.djl.offline", "true");
        Path config = Path.of(args[0]);
        Path out = Path.of(args[1]);
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 0L;
        long t0 = System.nanoTime();
        try (NDManager m = NDManager.newBaseManager()) {
            Module model = build(EngineLoader.config(config));
            LowPeakInit.initialize(model, m, NoiseSource.seeded(seed));
            Map<String, ai.djl.ndarray.NDArray> sd = model.stateDict();
            long params = sd.values().stream().mapToLong(a -> a.getShape().size()).sum();
            SafeTensors.write(out, sd, Map.of("format", "pt", "sgm4j.random_weights", "seed " + seed));
            System.out.printf(Locale.ROOT,
                    "{\"probe\": \"random-checkpoint\", \"config\": \"%s\", \"out\": \"%s\", \"tensors\": %d, "
                            + "\"parameters\": %d, \"bytes\": %d, \"seconds\": %.1f, \"peak_rss_mb\": %d}%n",
                    config, out, sd.size(), params, out.toFile().length(), (System.nanoTime() - t0) / 1e9,
                    BenchMain.peakRssMb());
        }
    }

    /**
     * The model of {@code root}, tensors not allocated.
     *
     * @param root the config's root
     * @return an sgm {@link DiffusionEngine} or an ldm {@link DDPM}
     */
    static Module build(ConfigNode root) {
        ConfigNode model = EngineLoader.modelNode(root);
        String target = model.has("target") ? String.valueOf(model.asMap().get("target")) : "";
        if (target.startsWith("ldm.models.diffusion.ddpm.")) {
            return new Instantiator().instantiate(model, DDPM.class);
        }
        return new Instantiator().instantiate(model, DiffusionEngine.class);
    }
}
