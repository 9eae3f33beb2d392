package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Training checkpoints as two safetensors files, written and read by {@link EngineCheckpoint} (this
 * class keeps the trainer's entry points and delegates):
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
 *
 * <p>Thread-safety: the methods are static and keep no state of their own (except the test hook of
 * the temporary-file writer), but each reads or mutates the engine it is given: do not call them
 * while another thread uses the same engine.
 */
public final class Checkpoints {

    /** Metadata key of the global step (in both files). */
    public static final String GLOBAL_STEP = EngineCheckpoint.GLOBAL_STEP;

    /** Metadata key of the run seed. */
    public static final String SEED = EngineCheckpoint.SEED;

    /** Metadata key of the base learning rate. */
    public static final String LEARNING_RATE = EngineCheckpoint.LEARNING_RATE;

    /**
     * Metadata key of the training data position after the checkpoint's last batch ({@code
     * epoch:index}, see {@link io.github.sgm4j.train.data.Position}): a resumed run continues reading
     * there.
     */
    public static final String DATA_POSITION = "sgm4j.data_position";

    /** Writes one temporary file of a checkpoint; replaceable by tests to inject write failures. */
    interface TempWriter extends EngineCheckpoint.TempWriter {}

    static TempWriter tempWriter = SafeTensors::writeTemp;

    private Checkpoints() {}

    /**
     * The trainer-state sidecar of a checkpoint file.
     *
     * @param checkpoint the model file
     * @return {@code NAME.trainer.safetensors} beside it
     */
    public static Path trainerFile(Path checkpoint) {
        return EngineCheckpoint.trainerFile(checkpoint);
    }

    /**
     * Saves the engine state (and, when training started, the trainer state): {@link
     * EngineCheckpoint#save(Path, DiffusionEngine, Long, EngineCheckpoint.TempWriter)} with the seed
     * recorded. Without an optimizer a stale trainer file of an earlier checkpoint is removed.
     *
     * @param checkpoint the model file
     * @param engine the engine
     * @param seed the run seed to record
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     */
    public static void save(Path checkpoint, DiffusionEngine engine, long seed) {
        save(checkpoint, engine, seed, Map.of());
    }

    /**
     * {@link #save(Path, DiffusionEngine, long)} with further metadata entries in both files.
     *
     * @param checkpoint the model file
     * @param engine the engine
     * @param seed the run seed to record
     * @param extra further metadata entries (e.g. {@link #DATA_POSITION})
     * @throws NonFiniteTensorException (before anything is written) when a tensor holds NaN or infinity
     */
    public static void save(Path checkpoint, DiffusionEngine engine, long seed, Map<String, String> extra) {
        try {
            EngineCheckpoint.save(checkpoint, engine, seed, extra, tempWriter);
        } catch (EngineCheckpoint.NonFiniteTensorException e) {
            if (e instanceof NonFiniteTensorException) {
                throw e;
            }
            throw new NonFiniteTensorException(e);
        }
    }

    /**
     * Removes temporary files left in {@code dir} by interrupted checkpoint writes ({@link
     * SafeTensors#isTempFile}).
     *
     * @param dir the directory
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

    /**
     * Restores a training checkpoint with its optimizer state; see {@link #resume(Path, DiffusionEngine, boolean)}.
     *
     * @param checkpoint the model file
     * @param engine the engine
     * @return the seed recorded in the checkpoint, or null
     */
    public static Long resume(Path checkpoint, DiffusionEngine engine) {
        return resume(checkpoint, engine, false);
    }

    /**
     * Restores a checkpoint written by {@link #save} to continue training ({@link
     * EngineCheckpoint#resume}): weights (strictly: every key must match, every value must be
     * finite), global step and learning rate, then the optimizer moments and step counts from the
     * trainer file.
     *
     * @param checkpoint the model file
     * @param engine the engine
     * @param resetOptimizer start the optimizer from scratch: the trainer file may be missing (it is
     *     ignored when present)
     * @return the seed recorded in the checkpoint, or null
     * @throws IllegalArgumentException when the checkpoint is missing or a directory, when the trainer
     *     file is missing (without {@code resetOptimizer}) or records another global step
     */
    public static Long resume(Path checkpoint, DiffusionEngine engine, boolean resetOptimizer) {
        return EngineCheckpoint.resume(checkpoint, engine, resetOptimizer);
    }

    /**
     * Checks, from the headers only, that {@link #resume} can restore {@code checkpoint}: the file
     * exists and is not a directory; unless {@code resetOptimizer}, its trainer file exists and
     * records the same global step.
     *
     * @param checkpoint the model file
     * @param resetOptimizer the optimizer will start from scratch
     * @return the checkpoint's metadata
     * @throws IllegalArgumentException naming both files otherwise
     */
    public static Map<String, String> checkResumable(Path checkpoint, boolean resetOptimizer) {
        return EngineCheckpoint.checkResumable(checkpoint, resetOptimizer);
    }

    /**
     * Loads a checkpoint's weights for inference (sampling): {@link EngineCheckpoint#loadWeights}.
     * Every key of the engine must be present except the EMA shadows ({@code model_ema.*}) when the
     * checkpoint has none; no unexpected key; the weights that will be used must be finite.
     *
     * @param checkpoint the model file
     * @param engine the engine
     * @param ema the EMA weights will be used: they must be present
     * @throws IllegalArgumentException naming the file and the keys otherwise
     */
    public static void loadWeights(Path checkpoint, DiffusionEngine engine, boolean ema) {
        EngineCheckpoint.loadWeights(checkpoint, engine, ema);
    }

    /**
     * The global step recorded in a checkpoint's metadata.
     *
     * @param checkpoint the model file
     * @return the step, or null (also when the file is unreadable)
     */
    public static Long recordedStep(Path checkpoint) {
        return EngineCheckpoint.recordedStep(checkpoint);
    }

    /** A non-finite (NaN or infinite) value in a tensor that was about to be written or used. */
    public static final class NonFiniteTensorException extends EngineCheckpoint.NonFiniteTensorException {
        private static final long serialVersionUID = 1L;

        NonFiniteTensorException(EngineCheckpoint.NonFiniteTensorException cause) {
            super(cause);
        }
    }

    /**
     * The first floating-point tensor (in map order) holding a NaN or an infinite value: {@link
     * EngineCheckpoint#firstNonFinite}.
     *
     * @param tensors the tensors
     * @return its key, or null when all are finite
     */
    public static String firstNonFinite(Map<String, ? extends NDArray> tensors) {
        return EngineCheckpoint.firstNonFinite(tensors);
    }
}
