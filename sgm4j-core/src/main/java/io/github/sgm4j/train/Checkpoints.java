package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.optim.AdamW;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Training checkpoints as two safetensors files:
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
 *
 * <p>Both files are written to temporary files first (nothing is renamed unless both were written
 * completely: a full disk leaves the previous pair untouched), then the model file is renamed into
 * place, then the trainer file. A tensor holding NaN or infinity is never written. {@link #resume}
 * refuses a pair whose recorded global steps differ and a missing trainer file (unless the optimizer
 * is reset explicitly).
 */
public final class Checkpoints {

    /** Metadata key of the global step (in both files). */
    public static final String GLOBAL_STEP = "sgm4j.global_step";

    /** Metadata key of the run seed. */
    public static final String SEED = "sgm4j.seed";

    /** Metadata key of the base learning rate. */
    public static final String LEARNING_RATE = "sgm4j.learning_rate";

    /** Writes one temporary file of a checkpoint; replaceable by tests to inject write failures. */
    interface TempWriter {
        Path write(Path target, Map<String, NDArray> tensors, Map<String, String> metadata);
    }

    static TempWriter tempWriter = SafeTensors::writeTemp;

    private Checkpoints() {}

    /** The trainer-state sidecar of a checkpoint file. */
    public static Path trainerFile(Path checkpoint) {
        String name = checkpoint.getFileName().toString();
        String base = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return checkpoint.resolveSibling(base + ".trainer.safetensors");
    }

    /**
     * Saves the engine state (and, when training started, the trainer state). Both files are written
     * to temporary files, then renamed: the model file first, then the trainer file. Without an
     * optimizer a stale trainer file of an earlier checkpoint is removed.
     *
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     */
    public static void save(Path checkpoint, DiffusionEngine engine, long seed) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(GLOBAL_STEP, Long.toString(engine.getGlobalStep()));
        meta.put(SEED, Long.toString(seed));
        meta.put(LEARNING_RATE, Double.toString(engine.getLearningRate()));
        Path tf = trainerFile(checkpoint);
        Map<String, NDArray> model = engine.stateDict();
        requireFinite(checkpoint, model);
        AdamW opt = engine.getOptimizer();
        Map<String, NDArray> trainer = null;
        Map<String, String> tmeta = null;
        if (opt != null) {
            tmeta = new LinkedHashMap<>(meta);
            for (Map.Entry<String, Long> e : opt.stepCounts().entrySet()) {
                tmeta.put("step." + e.getKey(), Long.toString(e.getValue()));
            }
            trainer = opt.stateDict();
            requireFinite(tf, trainer);
        }
        Path modelTmp = null;
        Path trainerTmp = null;
        try {
            modelTmp = tempWriter.write(checkpoint, model, meta);
            if (trainer != null) {
                trainerTmp = tempWriter.write(tf, trainer, tmeta);
            }
            SafeTensors.moveIntoPlace(modelTmp, checkpoint);
            modelTmp = null;
            if (trainerTmp != null) {
                SafeTensors.moveIntoPlace(trainerTmp, tf);
                trainerTmp = null;
            } else {
                Files.deleteIfExists(tf);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the stale trainer state " + tf + ": " + e.getMessage(), e);
        } finally {
            SafeTensors.deleteQuietly(modelTmp);
            SafeTensors.deleteQuietly(trainerTmp);
        }
    }

    /**
     * Removes temporary files left in {@code dir} by interrupted checkpoint writes ({@link
     * SafeTensors#isTempFile}).
     *
     * @return the files removed
     */
    public static List<Path> removeOrphanedTempFiles(Path dir) {
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return removed;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> Files.isRegularFile(f) && SafeTensors.isTempFile(f)).toList()) {
                Files.deleteIfExists(p);
                removed.add(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean up temporary files in " + dir + ": " + e.getMessage(), e);
        }
        return removed;
    }

    /** Restores a training checkpoint with its optimizer state; see {@link #resume(Path, DiffusionEngine, boolean)}. */
    public static Long resume(Path checkpoint, DiffusionEngine engine) {
        return resume(checkpoint, engine, false);
    }

    /**
     * Restores a checkpoint written by {@link #save} to continue training: weights (strictly: every
     * key must match, every value must be finite), global step and learning rate, then the optimizer
     * moments and step counts from the trainer file.
     *
     * @param resetOptimizer start the optimizer from scratch: the trainer file may be missing (it is
     *     ignored when present)
     * @return the seed recorded in the checkpoint, or null
     * @throws IllegalArgumentException when the checkpoint is missing or a directory, when the trainer
     *     file is missing (without {@code resetOptimizer}) or records another global step
     */
    public static Long resume(Path checkpoint, DiffusionEngine engine, boolean resetOptimizer) {
        Map<String, String> meta = checkResumable(checkpoint, resetOptimizer);
        Path tf = trainerFile(checkpoint);
        boolean useTrainer = !resetOptimizer;
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(checkpoint)) {
            Map<String, NDArray> sd = f.loadAll(engine.getManager());
            requireFinite(checkpoint, sd);
            engine.loadStateDict(sd, true);
        }
        if (meta.containsKey(GLOBAL_STEP)) {
            engine.setGlobalStep(Long.parseLong(meta.get(GLOBAL_STEP)));
        }
        if (meta.containsKey(LEARNING_RATE)) {
            engine.setLearningRate(Double.parseDouble(meta.get(LEARNING_RATE)));
        }
        if (useTrainer) {
            AdamW opt = engine.configureOptimizers();
            try (NDScope ignored = new NDScope();
                    SafeTensorsFile f = SafeTensors.open(tf)) {
                NDManager m = engine.getManager();
                Map<String, NDArray> state = f.loadAll(m);
                requireFinite(tf, state);
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

    /**
     * Checks, from the headers only, that {@link #resume} can restore {@code checkpoint}: the file
     * exists and is not a directory; unless {@code resetOptimizer}, its trainer file exists and
     * records the same global step.
     *
     * @return the checkpoint's metadata
     * @throws IllegalArgumentException naming both files otherwise
     */
    public static Map<String, String> checkResumable(Path checkpoint, boolean resetOptimizer) {
        requireCheckpointFile(checkpoint);
        Path tf = trainerFile(checkpoint);
        Map<String, String> meta = metadata(checkpoint);
        if (!resetOptimizer) {
            if (!Files.isRegularFile(tf)) {
                throw new IllegalArgumentException("the optimizer state " + tf + " of checkpoint " + checkpoint
                        + " is missing: restore it, or resume with a fresh optimizer (--reset-optimizer)");
            }
            String modelStep = meta.get(GLOBAL_STEP);
            String trainerStep = metadata(tf).get(GLOBAL_STEP);
            if (modelStep == null || !modelStep.equals(trainerStep)) {
                throw new IllegalArgumentException("checkpoint " + checkpoint + " (global step " + orUnknown(modelStep)
                        + ") and its optimizer state " + tf + " (global step " + orUnknown(trainerStep)
                        + ") are from different steps: they do not belong together (an interrupted write or files"
                        + " copied from different runs); use the matching pair, or --reset-optimizer");
            }
        }
        return meta;
    }

    /**
     * Loads a checkpoint's weights for inference (sampling): every key of the engine must be present
     * except the EMA shadows ({@code model_ema.*}) when {@code ema} is false; no unexpected key; the
     * weights that will be used must be finite.
     *
     * @param ema the EMA weights will be used: they must be present
     * @throws IllegalArgumentException naming the file and the keys otherwise
     */
    public static void loadWeights(Path checkpoint, DiffusionEngine engine, boolean ema) {
        requireCheckpointFile(checkpoint);
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(checkpoint)) {
            Map<String, NDArray> sd = f.loadAll(engine.getManager());
            List<String> emaKeys = engine.stateDictKeys().stream().filter(k -> k.startsWith("model_ema.")).toList();
            if (ema && !emaKeys.isEmpty() && emaKeys.stream().noneMatch(sd::containsKey)) {
                throw new IllegalArgumentException("--ema: checkpoint " + checkpoint + " has no EMA weights (no model_ema.*"
                        + " key): sample without --ema");
            }
            Map<String, NDArray> used = new LinkedHashMap<>(sd);
            if (!ema) {
                used.keySet().removeIf(k -> k.startsWith("model_ema."));
            }
            requireFinite(checkpoint, used);
            LoadResult r = engine.loadStateDict(sd, false);
            List<String> missing = r.missingKeys().stream().filter(k -> ema || !k.startsWith("model_ema.")).toList();
            LoadResult problems = new LoadResult(missing, r.unexpectedKeys(), r.shapeMismatches());
            if (!problems.isClean()) {
                throw new IllegalArgumentException("checkpoint " + checkpoint + " does not match the config's model: "
                        + problems.describe());
            }
        }
    }

    /** The global step recorded in a checkpoint's metadata, or null (also when the file is unreadable). */
    public static Long recordedStep(Path checkpoint) {
        try {
            String s = metadata(checkpoint).get(GLOBAL_STEP);
            return s == null ? null : Long.parseLong(s);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A non-finite (NaN or infinite) value in a tensor that was about to be written or used. */
    public static final class NonFiniteTensorException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        private final String key;

        NonFiniteTensorException(Path file, String key) {
            super("tensor '" + key + "' of " + file + " holds NaN or infinite values");
            this.key = key;
        }

        /** The first tensor found with a non-finite value. */
        public String key() {
            return key;
        }
    }

    /** Throws {@link NonFiniteTensorException} naming {@code file} and the first non-finite tensor. */
    static void requireFinite(Path file, Map<String, NDArray> tensors) {
        String bad = firstNonFinite(tensors);
        if (bad != null) {
            throw new NonFiniteTensorException(file, bad);
        }
    }

    /**
     * The first floating-point tensor (in map order) holding a NaN or an infinite value, or null.
     * Costs one fused reduction when all are finite: the sum of the per-tensor sums is finite
     * exactly when no tensor holds NaN or infinity, unless the sum overflows, in which case (as when
     * it is not finite) each tensor is checked.
     */
    public static String firstNonFinite(Map<String, ? extends NDArray> tensors) {
        boolean grad = F.setGradEnabled(false);
        try (NDScope ignored = new NDScope()) {
            NDList sums = new NDList();
            List<String> keys = new ArrayList<>();
            for (Map.Entry<String, ? extends NDArray> e : tensors.entrySet()) {
                NDArray a = e.getValue();
                if (a.getDataType().isFloating() && a.size() > 0) {
                    sums.add(a.sum());
                    keys.add(e.getKey());
                }
            }
            if (sums.isEmpty() || Float.isFinite(NDArrays.stack(sums).sum().getFloat())) {
                return null;
            }
            for (String k : keys) {
                NDArray a = tensors.get(k);
                if (a.isNaN().logicalOr(a.isInfinite()).any().getBoolean()) {
                    return k;
                }
            }
            return null;
        } finally {
            F.setGradEnabled(grad);
        }
    }

    private static void requireCheckpointFile(Path checkpoint) {
        if (Files.isDirectory(checkpoint)) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + " is a directory, not a .safetensors file");
        }
        if (!Files.isRegularFile(checkpoint)) {
            throw new IllegalArgumentException("checkpoint not found: " + checkpoint);
        }
    }

    private static Map<String, String> metadata(Path file) {
        try (SafeTensorsFile f = SafeTensors.open(file)) {
            return new LinkedHashMap<>(f.metadata());
        }
    }

    private static String orUnknown(String step) {
        return step == null ? "not recorded" : step;
    }
}
