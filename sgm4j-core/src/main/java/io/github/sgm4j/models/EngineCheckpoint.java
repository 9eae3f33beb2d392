package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.io.StateDictFile;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.StateDictException;
import io.github.sgm4j.optim.AdamW;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where a {@link DiffusionEngine} checkpoint is written and read: a pair of
 * safetensors files.
 *
 * <p>Size: the one read/write path of sgm4j checkpoint pairs (model file, trainer-state file):
 * atomic writes, the finiteness checks, step/resume validation and strict loading with their
 * typed errors belong together; over a third of the file is Javadoc.
 *
 * <ul>
 *   <li>{@code NAME.safetensors}: the engine's full state dict under the reference keys ({@code
 *       model.diffusion_model.*}, {@code conditioner.embedders.N.*}, {@code model_ema.*}, {@code
 *       first_stage_model.*}, {@code denoiser.sigmas}); it loads into Python sgm ({@code
 *       init_from_ckpt}). Its metadata records the global step, the seed and the base learning rate.
 *   <li>{@code NAME.trainer.safetensors} (only once an optimizer exists): the AdamW moments ({@code
 *       <param>.exp_avg}, {@code .exp_avg_sq}) and, in its metadata, the per-parameter step counts
 *       and the same global step, so that a resumed run continues exactly.
 * </ul>
 *
 * <p>Writing is atomic per pair: both files go to temporary files first, nothing is renamed unless
 * both were written completely, then the model file is renamed into place, then the trainer file. A
 * tensor holding NaN or infinity is never written. {@link DiffusionEngine#save}, {@link
 * DiffusionEngine#load}, {@link EngineLoader} and {@code train.Checkpoints} all go through this
 * class.
 *
 * <p>Thread-safety: the methods are stateless, but each reads or mutates the engine it is given; do
 * not call them while another thread uses the same engine.
 */
public final class EngineCheckpoint {

    private static final Logger LOG = LoggerFactory.getLogger(EngineCheckpoint.class);

    /** Metadata key of the global step (in both files). */
    public static final String GLOBAL_STEP = "sgm4j.global_step";

    /** Metadata key of the run seed. */
    public static final String SEED = "sgm4j.seed";

    /** Metadata key of the base learning rate. */
    public static final String LEARNING_RATE = "sgm4j.learning_rate";

    private static final String EMA_PREFIX = "model_ema.";

    /** Writes one file of a checkpoint pair to a temporary file beside its target. */
    @FunctionalInterface
    public interface TempWriter {
        /**
         * Writes a temporary file.
         *
         * @param target the file the temporary file will be renamed to
         * @param tensors the tensors to write
         * @param metadata the {@code __metadata__} entries
         * @return the temporary file written
         */
        Path write(Path target, Map<String, NDArray> tensors, Map<String, String> metadata);
    }

    /** The default writer: {@link SafeTensors#writeTemp} (written, fsynced, not yet renamed). */
    public static final TempWriter DEFAULT_WRITER = SafeTensors::writeTemp;

    private EngineCheckpoint() {}

    /**
     * The trainer-state sidecar of a checkpoint file ({@code NAME.trainer.safetensors}).
     *
     * @param checkpoint the model file
     * @return the trainer file beside it
     */
    public static Path trainerFile(Path checkpoint) {
        String name = checkpoint.getFileName().toString();
        String base = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return checkpoint.resolveSibling(base + ".trainer.safetensors");
    }

    /**
     * Saves the engine (and, when it has an optimizer, the trainer state) with {@link #DEFAULT_WRITER}.
     *
     * @param checkpoint the model file to write
     * @param engine the engine
     * @param seed the run seed to record, or null
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     * @throws UncheckedIOException when a file cannot be written (the previous pair stays untouched)
     */
    public static void save(Path checkpoint, DiffusionEngine engine, Long seed) {
        save(checkpoint, engine, seed, DEFAULT_WRITER);
    }

    /**
     * Saves the engine state and, when training started, the trainer state. Both files are written
     * to temporary files by {@code writer}, then renamed: the model file first, then the trainer file.
     * Without an optimizer a stale trainer file of an earlier checkpoint is removed.
     *
     * @param checkpoint the model file to write
     * @param engine the engine
     * @param seed the run seed to record, or null
     * @param writer writes each temporary file
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     * @throws UncheckedIOException when a file cannot be written (the previous pair stays untouched)
     */
    public static void save(Path checkpoint, DiffusionEngine engine, Long seed, TempWriter writer) {
        save(checkpoint, engine, seed, Map.of(), writer);
    }

    /**
     * {@link #save(Path, DiffusionEngine, Long, TempWriter)} with further metadata entries in both
     * files (e.g. the training data position).
     *
     * @param checkpoint the model file to write
     * @param engine the engine
     * @param seed the run seed to record, or null
     * @param extra further metadata entries (they do not replace the format, step, seed or learning rate)
     * @param writer writes each temporary file
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     * @throws UncheckedIOException when a file cannot be written (the previous pair stays untouched)
     */
    public static void save(Path checkpoint, DiffusionEngine engine, Long seed, Map<String, String> extra,
            TempWriter writer) {
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.put("format", "pt");
        meta.put(GLOBAL_STEP, Long.toString(engine.getGlobalStep()));
        if (seed != null) {
            meta.put(SEED, Long.toString(seed));
        }
        meta.put(LEARNING_RATE, Double.toString(engine.getLearningRate()));
        writePair(checkpoint, engine.stateDict(), engine.getOptimizer(), meta, writer);
    }

    /**
     * Writes a checkpoint pair of any model: {@code model} to {@code checkpoint} with {@code meta},
     * and, when {@code optimizer} is not null, its moments to {@link #trainerFile} with {@code meta}
     * plus the per-parameter step counts ({@code step.<param>}). Both files are written to temporary
     * files by {@code writer}, then renamed: the model file first, then the trainer file. Without an
     * optimizer a stale trainer file of an earlier checkpoint is removed.
     *
     * @param checkpoint the model file to write
     * @param model the model's state dict (written as is)
     * @param optimizer the optimizer whose state goes to the trainer file, or null
     * @param meta the metadata of both files (format, global step, seed, ...)
     * @param writer writes each temporary file
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     * @throws UncheckedIOException when a file cannot be written (the previous pair stays untouched)
     */
    public static void writePair(Path checkpoint, Map<String, NDArray> model, AdamW optimizer, Map<String, String> meta,
            TempWriter writer) {
        Path tf = trainerFile(checkpoint);
        requireFinite(checkpoint, model);
        AdamW opt = optimizer;
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
            modelTmp = writer.write(checkpoint, model, meta);
            if (trainer != null) {
                trainerTmp = writer.write(tf, trainer, tmeta);
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
     * Restores a checkpoint written by {@link #save} to continue training: weights (strictly: every
     * key must match, every value must be finite), global step and learning rate, then (unless {@code
     * resetOptimizer}) the optimizer moments and step counts from the trainer file.
     *
     * @param checkpoint the model file
     * @param engine the engine to restore into (allocated)
     * @param resetOptimizer start the optimizer from scratch: the trainer file may be missing (it is
     *     ignored when present)
     * @return the seed recorded in the checkpoint, or null
     * @throws CheckpointException when the checkpoint is missing or a directory, when the trainer
     *     file is missing (without {@code resetOptimizer}) or records another global step
     * @throws NonFiniteTensorException when a tensor of either file holds NaN or infinity
     * @throws StateDictException when the keys or shapes do not match the engine exactly
     */
    public static Long resume(Path checkpoint, DiffusionEngine engine, boolean resetOptimizer) {
        Map<String, String> meta = checkResumable(checkpoint, resetOptimizer);
        Path tf = trainerFile(checkpoint);
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
        if (!resetOptimizer) {
            loadOptimizerState(tf, engine.configureOptimizers(), engine.getManager());
        }
        return meta.containsKey(SEED) ? Long.parseLong(meta.get(SEED)) : null;
    }

    /**
     * Restores an optimizer from a trainer file written by {@link #writePair}: the moments (checked
     * for NaN and infinity) and the per-parameter step counts of its metadata.
     *
     * @param trainerFile the trainer file
     * @param optimizer the optimizer over the same parameter names
     * @param manager the manager of the model (the moments are copied into the optimizer's arrays)
     * @throws NonFiniteTensorException when a moment holds NaN or infinity
     */
    public static void loadOptimizerState(Path trainerFile, AdamW optimizer, NDManager manager) {
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(trainerFile)) {
            Map<String, NDArray> state = f.loadAll(manager);
            requireFinite(trainerFile, state);
            Map<String, Long> steps = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : f.metadata().entrySet()) {
                if (e.getKey().startsWith("step.")) {
                    steps.put(e.getKey().substring("step.".length()), Long.parseLong(e.getValue()));
                }
            }
            optimizer.loadStateDict(state, steps);
        }
    }

    /**
     * Checks, from the headers only, that {@link #resume} can restore {@code checkpoint}: the file
     * exists and is not a directory; unless {@code resetOptimizer}, its trainer file exists and
     * records the same global step.
     *
     * @param checkpoint the model file
     * @param resetOptimizer the optimizer will start from scratch (the trainer file is not needed)
     * @return the checkpoint's metadata
     * @throws CheckpointException naming both files otherwise
     */
    public static Map<String, String> checkResumable(Path checkpoint, boolean resetOptimizer) {
        requireCheckpointFile(checkpoint);
        Path tf = trainerFile(checkpoint);
        Map<String, String> meta = metadata(checkpoint);
        if (!resetOptimizer) {
            if (!Files.isRegularFile(tf)) {
                throw new CheckpointException(tf, List.of(), "the optimizer state " + tf + " of checkpoint " + checkpoint
                        + " is missing: restore it, or resume with a fresh optimizer (--reset-optimizer)");
            }
            String modelStep = meta.get(GLOBAL_STEP);
            String trainerStep = metadata(tf).get(GLOBAL_STEP);
            if (modelStep == null || !modelStep.equals(trainerStep)) {
                throw new CheckpointException(checkpoint, List.of(GLOBAL_STEP), "checkpoint " + checkpoint + " (global step " + orUnknown(modelStep)
                        + ") and its optimizer state " + tf + " (global step " + orUnknown(trainerStep)
                        + ") are from different steps: they do not belong together (an interrupted write or files"
                        + " copied from different runs); use the matching pair, or --reset-optimizer");
            }
        }
        return meta;
    }

    /**
     * Loads a checkpoint's weights strictly by key, tensor by tensor from the memory-mapped file (the
     * peak is the model plus one tensor). Every key of the engine must be present, except the EMA
     * shadows ({@code model_ema.*}) when the checkpoint has none of them: the EMA then starts from the
     * loaded network weights. No unexpected key, no shape mismatch (checked from the header before
     * anything is loaded); the weights that will be used must be finite. The global step recorded in
     * the file (if any) is restored.
     *
     * @param checkpoint the model file: {@code .safetensors}, or a PyTorch {@code .ckpt} / {@code .pth}
     *     ({@link StateDicts#open} chooses by content)
     * @param engine the engine to load into (allocated)
     * @param ema the EMA weights will be used: the checkpoint must hold them (when the engine keeps
     *     an EMA), and they are checked for NaN and infinity
     * @return the load result (its missing keys are the EMA shadows that were absent, if any)
     * @throws CheckpointException naming the file and the keys when the checkpoint is missing, a
     *     directory or does not match the engine's keys
     * @throws io.github.sgm4j.io.SafeTensorsFormatException when the file is neither a torch checkpoint
     *     nor valid safetensors
     * @throws io.github.sgm4j.io.TorchCheckpointFormatException when a torch checkpoint is malformed,
     *     in an unsupported layout (tar, bare pickle) or refused
     * @throws StateDictException naming the keys when shapes differ
     * @throws NonFiniteTensorException naming the file and the tensor when a used weight is NaN or
     *     infinite (the engine's weights are then unspecified)
     */
    public static LoadResult loadWeights(Path checkpoint, DiffusionEngine engine, boolean ema) {
        requireCheckpointFile(checkpoint);
        try (StateDictFile f = StateDicts.open(checkpoint)) {
            Map<String, Parameter> entries = engine.stateDictEntries();
            List<String> keys = f.keys();
            boolean engineHasEma = entries.keySet().stream().anyMatch(k -> k.startsWith(EMA_PREFIX));
            boolean fileHasEma = keys.stream().anyMatch(k -> k.startsWith(EMA_PREFIX));
            if (ema && engineHasEma && !fileHasEma) {
                throw new CheckpointException(checkpoint, List.of(EMA_PREFIX + "*"), "--ema: checkpoint " + checkpoint + " has no EMA weights (no "
                        + EMA_PREFIX + "* key): sample without --ema");
            }
            LoadResult r = compare(f, entries);
            List<String> missing = r.missingKeys().stream().filter(k -> fileHasEma || !k.startsWith(EMA_PREFIX)).toList();
            LoadResult problems = new LoadResult(missing, r.unexpectedKeys(), r.shapeMismatches());
            if (!problems.isClean()) {
                List<String> bad = new ArrayList<>(problems.missingKeys());
                bad.addAll(problems.unexpectedKeys());
                throw new CheckpointException(checkpoint, bad, "checkpoint " + checkpoint
                        + " does not match the config's model: " + problems.describe());
            }
            copyInto(f, entries, engine.getManager());
            Map<String, NDArray> used = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : entries.entrySet()) {
                if (f.contains(e.getKey()) && (ema || !e.getKey().startsWith(EMA_PREFIX))) {
                    used.put(e.getKey(), e.getValue().getArray());
                }
            }
            requireFinite(checkpoint, used);
            if (engineHasEma && !fileHasEma) {
                resetEmaToNetwork(engine);
                LOG.info("{} has no EMA weights: the EMA starts from the loaded network weights", checkpoint);
            }
            String step = f.metadata().get(GLOBAL_STEP);
            if (step != null) {
                engine.setGlobalStep(Long.parseLong(step));
            }
            return r;
        }
    }

    /**
     * sgm's {@code init_from_ckpt(path)}: loads a state dict ({@code .safetensors}, or a PyTorch
     * {@code .ckpt} / {@code .pth} read without executing code) non-strictly, tensor by tensor, and
     * logs the missing and unexpected keys. A checkpoint that shares no key with the
     * engine (another architecture) or whose shapes differ is an error, never a silent half-load.
     *
     * @param checkpoint the state-dict file ({@link StateDicts#open} chooses the format by content)
     * @param engine the engine to load into (allocated)
     * @return the missing and unexpected keys
     * @throws CheckpointException when the file shares no key with the engine
     * @throws io.github.sgm4j.io.SafeTensorsFormatException when the file is neither a torch checkpoint
     *     nor valid safetensors
     * @throws io.github.sgm4j.io.TorchCheckpointFormatException when a torch checkpoint is malformed,
     *     in an unsupported layout (tar, bare pickle) or refused
     * @throws StateDictException when shapes differ (nothing is loaded)
     */
    public static LoadResult initFromCkpt(Path checkpoint, DiffusionEngine engine) {
        try (StateDictFile f = StateDicts.open(checkpoint)) {
            Map<String, Parameter> entries = engine.stateDictEntries();
            LoadResult r = compare(f, entries);
            if (!r.shapeMismatches().isEmpty()) {
                throw new StateDictException(engine.getClass().getSimpleName(), r);
            }
            copyInto(f, entries, engine.getManager());
            LOG.info("Restored from {} with {} missing and {} unexpected keys", checkpoint, r.missingKeys().size(),
                    r.unexpectedKeys().size());
            if (!r.missingKeys().isEmpty()) {
                LOG.info("Missing Keys: {}", r.missingKeys());
            }
            if (!r.unexpectedKeys().isEmpty()) {
                LOG.info("Unexpected Keys: {}", r.unexpectedKeys());
            }
            return r;
        }
    }

    /**
     * The global step recorded in a checkpoint's metadata.
     *
     * @param checkpoint the model file
     * @return the step, or null (also when the file is unreadable)
     */
    public static Long recordedStep(Path checkpoint) {
        try {
            String s = metadata(checkpoint).get(GLOBAL_STEP);
            return s == null ? null : Long.parseLong(s);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A non-finite (NaN or infinite) value in a tensor that was about to be written or used. */
    public static class NonFiniteTensorException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        /** The key of the tensor holding a non-finite value (part of the serialized form). */
        private final String key;

        /**
         * Creates the exception.
         *
         * @param file the file being written or read
         * @param key the tensor holding a non-finite value
         */
        public NonFiniteTensorException(Path file, String key) {
            super("tensor '" + key + "' of " + file + " holds NaN or infinite values");
            this.key = key;
        }

        /**
         * A copy of {@code other} (same message and key), for subclasses that rethrow it.
         *
         * @param other the exception to copy
         */
        protected NonFiniteTensorException(NonFiniteTensorException other) {
            super(other.getMessage(), other);
            this.key = other.key;
        }

        /**
         * The first tensor found with a non-finite value.
         *
         * @return its key
         */
        public String key() {
            return key;
        }
    }

    /**
     * Throws {@link NonFiniteTensorException} naming {@code file} and the first non-finite tensor.
     *
     * @param file the file the tensors are written to or read from (for the message)
     * @param tensors the tensors
     * @throws NonFiniteTensorException when a tensor holds NaN or infinity
     */
    public static void requireFinite(Path file, Map<String, ? extends NDArray> tensors) {
        String bad = firstNonFinite(tensors);
        if (bad != null) {
            throw new NonFiniteTensorException(file, bad);
        }
    }

    /**
     * The first floating-point tensor (in map order) holding a NaN or an infinite value. Costs one
     * fused reduction when all are finite: the sum of the per-tensor sums is finite exactly when no
     * tensor holds NaN or infinity, unless the sum overflows, in which case (as when it is not
     * finite) each tensor is checked. The arrays are not modified; intermediates are freed.
     *
     * @param tensors the tensors
     * @return the key of the first non-finite tensor, or null
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

    /** Missing, unexpected and shape-mismatched keys from the header; no key in common is an error. */
    private static LoadResult compare(StateDictFile f, Map<String, Parameter> entries) {
        List<String> keys = f.keys();
        if (keys.stream().noneMatch(entries::containsKey)) {
            throw new CheckpointException(f.path(), List.of(), f.path() + " shares no key with this model (" + keys.size()
                    + " keys, e.g. " + keys.stream().limit(3).toList() + "): checkpoint of another architecture?");
        }
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : entries.entrySet()) {
            if (!f.contains(e.getKey())) {
                missing.add(e.getKey());
            } else {
                Shape got = new Shape(f.info(e.getKey()).shape());
                if (!got.equals(e.getValue().getShape())) {
                    mismatched.add(e.getKey() + ": expected " + e.getValue().getShape() + ", got " + got);
                }
            }
        }
        List<String> unexpected = keys.stream().filter(k -> !entries.containsKey(k)).toList();
        return new LoadResult(missing, unexpected, mismatched);
    }

    /** Copies every tensor of the file the engine has, one at a time. */
    private static void copyInto(StateDictFile f, Map<String, Parameter> entries, NDManager m) {
        for (Map.Entry<String, Parameter> e : entries.entrySet()) {
            if (f.contains(e.getKey())) {
                try (NDScope ignored = new NDScope(); NDArray v = f.load(e.getKey(), m)) {
                    e.getValue().setArray(v, m);
                }
            }
        }
    }

    /** Sets every EMA shadow to the network parameter it follows (a fresh EMA of the loaded weights). */
    private static void resetEmaToNetwork(DiffusionEngine engine) {
        Map<String, Parameter> params = engine.getModel().namedParameters();
        Map<String, Parameter> shadows = engine.getModelEma().namedTensors();
        NDManager m = engine.getManager();
        for (Map.Entry<String, String> e : engine.getModelEma().getNameMap().entrySet()) {
            Parameter p = params.get(e.getKey());
            Parameter s = shadows.get(e.getValue());
            if (p != null && s != null) {
                s.setArray(p.getArray(), m);
            }
        }
    }

    private static void requireCheckpointFile(Path checkpoint) {
        if (Files.isDirectory(checkpoint)) {
            throw new CheckpointException(checkpoint, List.of(), "checkpoint " + checkpoint
                    + " is a directory, not a .safetensors file");
        }
        if (!Files.isRegularFile(checkpoint)) {
            throw new CheckpointException(checkpoint, List.of(), "checkpoint not found: " + checkpoint);
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
