package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.models.DiffusionEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Training checkpoints as two safetensors files written atomically:
 *
 * <ul>
 *   <li>{@code NAME.safetensors}: the engine's full state dict under the reference keys ({@code
 *       model.diffusion_model.*}, {@code conditioner.embedders.N.*}, {@code model_ema.*}, {@code
 *       first_stage_model.*}, {@code denoiser.sigmas}); it loads into Python sgm ({@code
 *       init_from_ckpt}). Its metadata records the global step and the seed.
 *   <li>{@code NAME.trainer.safetensors}: the AdamW moments ({@code <param>.exp_avg}, {@code
 *       .exp_avg_sq}) and, in its metadata, the per-parameter step counts, the global step, the base
 *       learning rate and the seed, so that a resumed run continues exactly.
 * </ul>
 */
public final class Checkpoints {

    /** Metadata key of the global step. */
    public static final String GLOBAL_STEP = "sgm4j.global_step";

    /** Metadata key of the run seed. */
    public static final String SEED = "sgm4j.seed";

    /** Metadata key of the base learning rate. */
    public static final String LEARNING_RATE = "sgm4j.learning_rate";

    private Checkpoints() {}

    /** The trainer-state sidecar of a checkpoint file. */
    public static Path trainerFile(Path checkpoint) {
        String name = checkpoint.getFileName().toString();
        String base = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return checkpoint.resolveSibling(base + ".trainer.safetensors");
    }

    /** Saves the engine state (and, when training started, the trainer state) atomically. */
    public static void save(Path checkpoint, DiffusionEngine engine, long seed) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(GLOBAL_STEP, Long.toString(engine.getGlobalStep()));
        meta.put(SEED, Long.toString(seed));
        meta.put(LEARNING_RATE, Double.toString(engine.getLearningRate()));
        AdamW opt = engine.getOptimizer();
        if (opt != null) {
            Map<String, String> tmeta = new LinkedHashMap<>(meta);
            for (Map.Entry<String, Long> e : opt.stepCounts().entrySet()) {
                tmeta.put("step." + e.getKey(), Long.toString(e.getValue()));
            }
            SafeTensors.write(trainerFile(checkpoint), opt.stateDict(), tmeta);
        }
        // the model file last: its presence marks a complete checkpoint
        SafeTensors.write(checkpoint, engine.stateDict(), meta);
    }

    /**
     * Restores a checkpoint written by {@link #save}: weights (strictly: every key must match), then
     * the optimizer moments, step counts and global step when the trainer file exists.
     *
     * @return the seed recorded in the checkpoint, or null
     */
    public static Long resume(Path checkpoint, DiffusionEngine engine) {
        if (!Files.isRegularFile(checkpoint)) {
            throw new IllegalArgumentException("checkpoint not found: " + checkpoint);
        }
        Map<String, String> meta;
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(checkpoint)) {
            meta = f.metadata();
            engine.loadStateDict(f.loadAll(engine.getManager()), true);
        }
        if (meta.containsKey(GLOBAL_STEP)) {
            engine.setGlobalStep(Long.parseLong(meta.get(GLOBAL_STEP)));
        }
        if (meta.containsKey(LEARNING_RATE)) {
            engine.setLearningRate(Double.parseDouble(meta.get(LEARNING_RATE)));
        }
        Path tf = trainerFile(checkpoint);
        if (Files.isRegularFile(tf)) {
            AdamW opt = engine.configureOptimizers();
            try (NDScope ignored = new NDScope();
                    SafeTensorsFile f = SafeTensors.open(tf)) {
                NDManager m = engine.getManager();
                Map<String, NDArray> state = f.loadAll(m);
                Map<String, Long> steps = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : f.metadata().entrySet()) {
                    if (e.getKey().startsWith("step.")) {
                        steps.put(e.getKey().substring("step.".length()), Long.parseLong(e.getValue()));
                    }
                }
                opt.loadStateDict(state, steps);
            }
        }
        return meta.containsKey(SEED) ? Long.parseLong(meta.get(SEED)) : null;
    }
}
