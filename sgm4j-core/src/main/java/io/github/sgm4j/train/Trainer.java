package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.SampleOptions;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of the main job: batches from the data set, {@link DiffusionEngine#trainStep}
 * per step, a metrics CSV, periodic checkpoints ({@link Checkpoints}) and sample grids, and a clean
 * stop on request (Ctrl-C), or on a non-finite loss or non-finite weights after an update ({@link
 * DivergedException}: nothing is saved, the last finite checkpoint is kept).
 *
 * <p>Every step draws from a noise source reseeded with {@code (seed, step)} and reads the batch of
 * {@code (seed, step)}, so a run resumed from a checkpoint continues exactly as the uninterrupted run.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * Options of a run. The {@link Trainer} constructor checks the batch size.
     *
     * @param steps total optimizer steps (the run stops when the engine's global step reaches it)
     * @param batchSize batch size
     * @param outDir where checkpoints, grids and metrics go
     * @param checkpointEvery checkpoint interval in steps (0: only at the end)
     * @param imageEvery sample-grid interval in steps (0: only at the end)
     * @param seed run seed (data order and noise)
     * @param sampleClasses classes of the sample grid (for class-conditional models), or null for
     *     16 unconditional samples
     */
    public record Options(long steps, int batchSize, Path outDir, long checkpointEvery, long imageEvery, long seed,
            List<Integer> sampleClasses) {}

    /**
     * Progress reporting of a run. Called on the thread that runs {@link Trainer#run}; an exception
     * thrown by a callback ends the run (the metrics rows of the steps run so far are flushed).
     */
    public interface Listener {
        /**
         * Called after every completed step, before any checkpoint or sample grid of that step.
         *
         * @param step the 1-based global step just completed
         * @param result the step's loss, learning rate and global step
         */
        void onStep(long step, DiffusionEngine.StepResult result);

        /**
         * Receives a human-readable event: a checkpoint or sample grid written, an orphaned temporary
         * file removed, an early stop. The default ignores it.
         *
         * @param text the message, without a trailing newline
         */
        default void message(String text) {}
    }

    /**
     * The outcome of a run.
     *
     * @param finalStep global step at the end
     * @param lastLoss loss of the last step (NaN if no step ran)
     * @param lastCheckpoint the last checkpoint written, or the one found in the output directory at
     *     start when none was written; null when there is none
     * @param stoppedEarly true when stopped by {@link Trainer#requestStop()} before {@code steps}
     */
    public record Result(long finalStep, double lastLoss, Path lastCheckpoint, boolean stoppedEarly) {}

    private final DiffusionEngine engine;
    private final MnistDataset data;
    private final Options opts;
    private final AtomicBoolean stopRequested = new AtomicBoolean();

    /**
     * A trainer of {@code engine} on {@code data}. The engine is trained in place (its weights,
     * optimizer state and global step change); a resumed engine continues from its global step.
     *
     * @param engine the engine to train, with a loss function and its parameters initialised
     * @param data the training set
     * @param opts the run options
     * @throws IllegalArgumentException when {@code opts.batchSize()} is below 1
     */
    public Trainer(DiffusionEngine engine, MnistDataset data, Options opts) {
        if (opts.batchSize() < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + opts.batchSize());
        }
        this.engine = engine;
        this.data = data;
        this.opts = opts;
    }

    /**
     * Asks the loop to stop after the current step (it then writes a checkpoint). Thread-safe: meant to
     * be called from another thread, such as a shutdown hook.
     */
    public void requestStop() {
        stopRequested.set(true);
    }

    /**
     * The noise seed of step {@code step} under run seed {@code seed}.
     *
     * @param seed the run seed
     * @param step the 0-based global step about to run
     * @return {@code seed * 1000003 + step}
     */
    public static long stepSeed(long seed, long step) {
        return seed * 1_000_003L + step;
    }

    /**
     * Training stopped because a step produced a NaN or infinite loss, or non-finite weights. The
     * weights in memory are not saved; the checkpoint on disk (if any) is the last finite one. {@code
     * metrics.csv} holds every step run.
     */
    public static final class DivergedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** The global step whose update (or loss) was not finite. */
        private final long step;
        private final transient Path checkpoint;
        /** The global step of the kept checkpoint, or null. */
        private final Long checkpointStep;

        DivergedException(String what, long step, Path checkpoint, Long checkpointStep, Throwable cause) {
            super(what + "; " + (checkpoint == null ? "no checkpoint was written"
                    : "the last good checkpoint " + checkpoint + " (step "
                            + (checkpointStep == null ? "unknown" : checkpointStep) + ") is kept"), cause);
            this.step = step;
            this.checkpoint = checkpoint;
            this.checkpointStep = checkpointStep;
        }

        /**
         * The global step whose update (or loss) was not finite.
         *
         * @return the 1-based global step that diverged
         */
        public long step() {
            return step;
        }

        /**
         * The checkpoint kept on disk.
         *
         * @return its path, or null when none was written (not serialized: null after deserialization)
         */
        public Path checkpoint() {
            return checkpoint;
        }

        /**
         * The global step of {@link #checkpoint()}.
         *
         * @return the step recorded in the checkpoint, or null when unknown or there is no checkpoint
         */
        public Long checkpointStep() {
            return checkpointStep;
        }
    }

    /**
     * Runs until {@code opts.steps} (or a stop request); returns the outcome. On start, temporary files
     * of interrupted checkpoint writes are removed from the output directory and {@code metrics.csv}
     * drops the rows after the engine's current step (rows of a run resumed from an earlier
     * checkpoint). After every optimizer step the trainable parameters are checked for NaN and
     * infinity (one fused reduction), so a checkpoint never holds the update that diverged.
     *
     * <p>Writes into {@code opts.outDir()}: {@code last.safetensors} (and its trainer-state sidecar)
     * every {@code checkpointEvery} steps, at the end and on an early stop; {@code samples-NNNNNN.png}
     * every {@code imageEvery} steps and at the end; {@code metrics.csv} ({@code step,loss,lr}),
     * appended when a checkpoint is written and when the loop ends. Each step's arrays are closed by an
     * {@link NDScope}. Not reentrant: call once at a time per trainer.
     *
     * @param listener receives every step and the events of the run
     * @return the outcome
     * @throws UncheckedIOException when the output directory or the metrics file cannot be written
     * @throws DivergedException when the loss or the updated weights are not finite (metrics flushed,
     *     nothing saved)
     */
    public Result run(Listener listener) {
        NDManager m = engine.getManager();
        TorchNoiseSource noise = new TorchNoiseSource(stepSeed(opts.seed(), engine.getGlobalStep()));
        Path last = opts.outDir().resolve("last.safetensors");
        Path metrics = opts.outDir().resolve("metrics.csv");
        try {
            Files.createDirectories(opts.outDir());
            for (Path orphan : Checkpoints.removeOrphanedTempFiles(opts.outDir())) {
                listener.message("removed " + orphan + " (left by an interrupted checkpoint write)");
            }
            truncateMetrics(metrics, engine.getGlobalStep());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + opts.outDir() + ": " + e.getMessage(), e);
        }
        double lastLoss = Double.NaN;
        Path lastCkpt = Files.exists(last) ? last : null;
        Long lastCkptStep = lastCkpt == null ? null : Checkpoints.recordedStep(last);
        StringBuilder pending = new StringBuilder();
        try {
            while (engine.getGlobalStep() < opts.steps() && !stopRequested.get()) {
                long step = engine.getGlobalStep();
                noise.reseed(stepSeed(opts.seed(), step));
                DiffusionEngine.StepResult r;
                try (NDScope scope = new NDScope()) {
                    Map<String, NDArray> batch = data.batch(m, step, opts.batchSize(), opts.seed());
                    r = engine.trainStep(batch, noise);
                    scope.suppressNotUsedWarning();
                } catch (io.github.sgm4j.optim.NonFiniteLossException e) {
                    throw new DivergedException(e.getMessage(), step + 1, lastCkpt, lastCkptStep, e);
                }
                lastLoss = r.loss();
                pending.append(String.format(Locale.ROOT, "%d,%.6f,%.3e%n", r.globalStep(), r.loss(), r.lr()));
                String bad = Checkpoints.firstNonFinite(arrays(engine.trainableParameters()));
                if (bad != null) {
                    throw new DivergedException("the update of step " + r.globalStep() + " made parameter '" + bad
                            + "' NaN or infinite (loss " + r.loss() + ", lr " + r.lr() + "): stopping",
                            r.globalStep(), lastCkpt, lastCkptStep, null);
                }
                listener.onStep(r.globalStep(), r);
                long done = r.globalStep();
                boolean end = done >= opts.steps();
                if ((opts.checkpointEvery() > 0 && done % opts.checkpointEvery() == 0) || end) {
                    flush(metrics, pending);
                    Checkpoints.save(last, engine, opts.seed());
                    lastCkpt = last;
                    lastCkptStep = done;
                    listener.message("checkpoint " + last + " (step " + done + ")");
                }
                if ((opts.imageEvery() > 0 && done % opts.imageEvery() == 0) || end) {
                    Path grid = opts.outDir().resolve(String.format(Locale.ROOT, "samples-%06d.png", done));
                    writeSampleGrid(grid, opts.sampleClasses(), stepSeed(opts.seed(), done) ^ 0x5eedL);
                    listener.message("sample grid " + grid);
                }
            }
        } finally {
            flush(metrics, pending);
        }
        boolean early = engine.getGlobalStep() < opts.steps();
        if (early) {
            Checkpoints.save(last, engine, opts.seed());
            lastCkpt = last;
            listener.message("stopped at step " + engine.getGlobalStep() + "; checkpoint " + last);
        }
        return new Result(engine.getGlobalStep(), lastLoss, lastCkpt, early);
    }

    private static void flush(Path metrics, StringBuilder pending) {
        if (pending.length() == 0) {
            return;
        }
        try {
            Files.writeString(metrics, pending, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            pending.setLength(0);
        } catch (IOException e) {
            LOG.warn("cannot append to {}: {}", metrics, e.getMessage());
        }
    }

    private static Map<String, NDArray> arrays(Map<String, io.github.sgm4j.nn.Parameter> params) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray()));
        return out;
    }

    /**
     * Creates {@code metrics} with its header, or keeps only its header and the rows of steps up to
     * {@code step}: a run resumed from the checkpoint of step {@code step} rewrites the later rows.
     */
    static void truncateMetrics(Path metrics, long step) throws IOException {
        String header = "step,loss,lr";
        if (!Files.exists(metrics)) {
            Files.writeString(metrics, header + "\n", StandardCharsets.UTF_8);
            return;
        }
        List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        List<String> kept = new ArrayList<>();
        kept.add(header);
        boolean dropped = false;
        for (String line : lines) {
            if (line.isBlank() || line.equals(header)) {
                continue;
            }
            int comma = line.indexOf(',');
            long s;
            try {
                s = Long.parseLong(comma < 0 ? line : line.substring(0, comma));
            } catch (NumberFormatException e) {
                dropped = true;
                continue;
            }
            if (s <= step) {
                kept.add(line);
            } else {
                dropped = true;
            }
        }
        if (dropped || lines.isEmpty() || !lines.get(0).equals(header)) {
            Path tmp = metrics.resolveSibling(metrics.getFileName() + ".rewrite");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, metrics, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Samples one image per class (or 16 unconditional images) with the engine's sampler, in the EMA
     * scope, unconditional guidance on every conditioner key, and writes a PNG grid (10 per row for
     * classes, else 4; see {@link ImageGrid#writePng(NDArray, int, Path)}). The arrays are closed
     * before returning.
     *
     * @param file the PNG to write (its directory is created)
     * @param classes one image per class label, or null for 16 unconditional images
     * @param seed the sampling noise seed
     * @throws IllegalStateException when sampling or writing fails (wrapping the cause)
     */
    public void writeSampleGrid(Path file, List<Integer> classes, long seed) {
        try (NDScope ignored = new NDScope()) {
            NDArray images = sampleImages(engine, classes, 16, seed, true, null);
            ImageGrid.writePng(images, classes == null ? 4 : Math.min(10, classes.size()), file);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write sample grid " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Samples images of the given classes from a class-conditional MNIST-style engine (or {@code n}
     * unconditional ones when {@code classes} is null), decoded to [-1, 1].
     *
     * <p>The returned array and the intermediate latent are attached to the engine's manager (and to
     * the innermost open {@link NDScope}, if any): call this inside an {@code NDScope} or close the
     * result.
     *
     * @param engine the engine; sampled with its configured sampler and guider
     * @param classes class labels (one image each, key {@code cls}), or null for unconditional samples
     * @param n number of unconditional samples (ignored when {@code classes} is given)
     * @param seed the seed of the sampling noise
     * @param useEma sample with the EMA weights (when the engine keeps an EMA)
     * @param progress receives {@code {step, total}} after each sampler step, or null
     * @return the decoded images [B, C, H, W] (the first stage's decoding of 1 x 28 x 28 latents),
     *     nominally in [-1, 1] (not clamped)
     * @throws IllegalArgumentException when classes are given but the conditioner has no {@code cls}
     *     input
     * @throws Exception when sampling fails or the EMA scope cannot be restored
     */
    public static NDArray sampleImages(DiffusionEngine engine, List<Integer> classes, int n, long seed, boolean useEma,
            Consumer<int[]> progress) throws Exception {
        List<String> keys = engine.getConditioner().getEmbedders().stream().map(AbstractEmbModel::getInputKey).toList();
        int count = classes == null ? n : classes.size();
        Map<String, Object> values = new LinkedHashMap<>();
        if (classes != null) {
            if (!keys.contains("cls")) {
                throw new IllegalArgumentException("classes were requested but the conditioner has no 'cls' input (keys: "
                        + keys + ")");
            }
            values.put("cls", classes);
        }
        SampleOptions options = SampleOptions.defaults().withSeed(seed).withEma(useEma && engine.getModelEma() != null)
                .withImageSize(MnistDataset.SIDE)
                .withProgress(progress == null ? null : (step, total, sigma, denoised) -> {
                    progress.accept(new int[] {step, total});
                    return true;
                });
        return engine.sample(values, count, options);
    }
}
