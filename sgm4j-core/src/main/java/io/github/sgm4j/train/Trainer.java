package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.data.Batch;
import io.github.sgm4j.train.data.CachedLatents;
import io.github.sgm4j.train.data.Dataset;
import io.github.sgm4j.train.data.Loader;
import io.github.sgm4j.train.data.Position;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of a diffusion model on any {@link Dataset}: batches from a {@link Loader}
 * (background decoding, deterministic order), {@code accumulate_grad_batches} micro-batches per
 * optimizer step ({@link TrainableModel}), a metrics CSV, periodic checkpoints and sample grids, and a
 * clean stop on request (Ctrl-C), or on a non-finite loss or non-finite weights after an update
 * ({@link DivergedException}: nothing is saved, the last finite checkpoint is kept).
 *
 * <p>The model decides what a sample looks like: the grid's image side is the data's, the latent
 * shape follows from the first stage (downsampling factor, latent channels) or equals the image for
 * pixel models, and the grid's conditioning comes from the model's conditioning keys: one image per
 * class for class-conditional models, otherwise the first images of the data in their natural order
 * give every conditioning value (captions, size and crop vectors).
 *
 * <p>Size: the run loop with its stop, divergence, checkpoint and grid handling, the resume
 * position, and the sample grid's conditioning are one unit; the nested result types are small.
 *
 * <p>Every optimizer step draws from a noise source reseeded with {@code (seed, step)}, and every
 * checkpoint records the data position after its last batch ({@link Checkpoints#DATA_POSITION}), so a
 * run resumed from a checkpoint continues exactly as the uninterrupted run.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * Options of a run. The record checks the values.
     *
     * @param steps total optimizer steps (the run stops when the model's global step reaches it)
     * @param outDir where checkpoints, grids and metrics go
     * @param checkpointEvery checkpoint interval in steps (0: only at the end)
     * @param imageEvery sample-grid interval in steps (0: only at the end)
     * @param seed run seed (data order and noise)
     * @param sampleClasses classes of the sample grid (for class-conditional models), or null: one per
     *     class up to 10 for class-conditional models, else 16 images conditioned like the first 16
     *     images of the data
     * @param accumulateGradBatches micro-batches per optimizer step ({@code accumulate_grad_batches}, 1:
     *     none)
     */
    public record Options(long steps, Path outDir, long checkpointEvery, long imageEvery, long seed,
            List<Integer> sampleClasses, int accumulateGradBatches) {
        /**
         * Checks the values.
         *
         * @param steps total optimizer steps
         * @param outDir the output directory
         * @param checkpointEvery checkpoint interval (0: at the end)
         * @param imageEvery sample-grid interval (0: at the end)
         * @param seed run seed
         * @param sampleClasses classes of the grid, or null
         * @param accumulateGradBatches micro-batches per optimizer step
         * @throws IllegalArgumentException when an interval is negative or {@code accumulateGradBatches < 1}
         */
        public Options {
            if (checkpointEvery < 0 || imageEvery < 0) {
                throw new IllegalArgumentException("checkpoint and image intervals must be >= 0, got " + checkpointEvery
                        + " and " + imageEvery);
            }
            if (accumulateGradBatches < 1) {
                throw new IllegalArgumentException("accumulate_grad_batches must be >= 1, got " + accumulateGradBatches);
            }
            sampleClasses = sampleClasses == null ? null : List.copyOf(sampleClasses);
        }

        /**
         * Options without gradient accumulation.
         *
         * @param steps total optimizer steps
         * @param outDir the output directory
         * @param checkpointEvery checkpoint interval (0: at the end)
         * @param imageEvery sample-grid interval (0: at the end)
         * @param seed run seed
         * @param sampleClasses classes of the grid, or null
         * @return the options
         */
        public static Options of(long steps, Path outDir, long checkpointEvery, long imageEvery, long seed,
                List<Integer> sampleClasses) {
            return new Options(steps, outDir, checkpointEvery, imageEvery, seed, sampleClasses, 1);
        }
    }

    /**
     * What one optimizer step did.
     *
     * @param loss the mean loss over the step's micro-batches
     * @param lr the learning rate used
     * @param globalStep the global step after the step
     * @param logs further logged values of the last micro-batch
     * @param dataWaitSeconds the time this step waited for decoded batches
     */
    public record StepInfo(double loss, double lr, long globalStep, Map<String, Double> logs, double dataWaitSeconds) {
        /**
         * Copies the logs.
         *
         * @param loss mean loss
         * @param lr learning rate
         * @param globalStep global step after the step
         * @param logs further logged values
         * @param dataWaitSeconds time waited for data
         */
        public StepInfo {
            logs = Map.copyOf(logs);
        }
    }

    /**
     * Progress reporting of a run. Called on the thread that runs {@link Trainer#run}; an exception
     * thrown by a callback ends the run (the metrics rows of the steps run so far are flushed).
     */
    public interface Listener {
        /**
         * Called after every completed optimizer step, before any checkpoint or sample grid of that step.
         *
         * @param step the 1-based global step just completed
         * @param info the step's loss, learning rate, global step and data wait
         */
        void onStep(long step, StepInfo info);

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
     * @param dataWaitSeconds the total time the run's steps waited for decoded batches
     * @param skippedFiles bad files skipped by the loader ({@code skip_bad_files})
     */
    public record Result(long finalStep, double lastLoss, Path lastCheckpoint, boolean stoppedEarly,
            double dataWaitSeconds, long skippedFiles) {}

    private final TrainableModel model;
    private final Dataset data;
    private final Loader.Options loaderOptions;
    private final Options opts;
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private Position startPosition;

    /**
     * A trainer of {@code model} on {@code data}. The model is trained in place (its weights,
     * optimizer state and global step change); a resumed model continues from its global step.
     *
     * @param model the model to train, its parameters initialised
     * @param data the training set
     * @param loaderOptions batch size, decoding threads, prefetch, shuffling, bad-file policy
     * @param opts the run options
     */
    public Trainer(TrainableModel model, Dataset data, Loader.Options loaderOptions, Options opts) {
        this.model = model;
        this.data = data;
        this.loaderOptions = loaderOptions;
        this.opts = opts;
    }

    /**
     * A trainer of an sgm {@link DiffusionEngine} (see {@link EngineTraining}).
     *
     * @param engine the engine to train, with a loss function and its parameters initialised
     * @param data the training set
     * @param loaderOptions batch size, decoding threads, prefetch, shuffling, bad-file policy
     * @param opts the run options
     * @throws IllegalArgumentException when the engine has no loss function
     */
    public Trainer(DiffusionEngine engine, Dataset data, Loader.Options loaderOptions, Options opts) {
        this(new EngineTraining(engine), data, loaderOptions, opts);
    }

    /**
     * Where the data continues: the position a checkpoint recorded ({@link
     * Checkpoints#DATA_POSITION}). Without it a resumed run derives the position from the global step
     * (exact unless bad files were skipped), and a fresh run starts at {@code (0, 0)}.
     *
     * @param position the position, or null to derive it
     * @return this trainer
     */
    public Trainer startAt(Position position) {
        this.startPosition = position;
        return this;
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
     * drops the rows after the model's current step (rows of a run resumed from an earlier
     * checkpoint). After every optimizer step the trainable parameters are checked for NaN and
     * infinity (one fused reduction), so a checkpoint never holds the update that diverged.
     *
     * <p>Writes into {@code opts.outDir()}: {@code last.safetensors} (and its trainer-state sidecar)
     * every {@code checkpointEvery} steps, at the end and on an early stop; {@code samples-NNNNNN.png}
     * every {@code imageEvery} steps and at the end; {@code metrics.csv} ({@code
     * step,loss,lr,data_wait_s}), appended when a checkpoint is written and when the loop ends. Each
     * micro-batch's arrays are closed by an {@link NDScope}. Not reentrant: call once at a time per
     * trainer.
     *
     * @param listener receives every step and the events of the run
     * @return the outcome
     * @throws UncheckedIOException when the output directory or the metrics file cannot be written
     * @throws DivergedException when the loss or the updated weights are not finite (metrics flushed,
     *     nothing saved)
     * @throws io.github.sgm4j.train.data.DataException when the data cannot be read (naming the file)
     */
    public Result run(Listener listener) {
        NDManager m = model.getManager();
        TorchNoiseSource noise = new TorchNoiseSource(stepSeed(opts.seed(), model.getGlobalStep()));
        Path last = opts.outDir().resolve("last.safetensors");
        Path metrics = opts.outDir().resolve("metrics.csv");
        try {
            Files.createDirectories(opts.outDir());
            for (Path orphan : Checkpoints.removeOrphanedTempFiles(opts.outDir())) {
                listener.message("removed " + orphan + " (left by an interrupted checkpoint write)");
            }
            truncateMetrics(metrics, model.getGlobalStep());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + opts.outDir() + ": " + e.getMessage(), e);
        }
        double lastLoss = Double.NaN;
        Path lastCkpt = Files.exists(last) ? last : null;
        Long lastCkptStep = lastCkpt == null ? null : Checkpoints.recordedStep(last);
        StringBuilder pending = new StringBuilder();
        int k = opts.accumulateGradBatches();
        Grid grid = null;
        try (Loader loader = new Loader(data, loaderOptions, opts.seed())) {
            loader.seek(startPosition(listener));
            while (model.getGlobalStep() < opts.steps() && !stopRequested.get()) {
                long step = model.getGlobalStep();
                noise.reseed(stepSeed(opts.seed(), step));
                long wait0 = loader.waitNanos();
                double lossSum = 0;
                TrainableModel.StepLoss sl = null;
                double lr;
                try {
                    for (int i = 0; i < k; i++) {
                        Batch batch = loader.next();
                        if (grid == null) {
                            grid = new Grid(checkedShape(batch));
                        }
                        try (NDScope scope = new NDScope()) {
                            sl = model.forwardBackward(values(batch, m), noise, 1.0 / k);
                            scope.suppressNotUsedWarning();
                        }
                        lossSum += sl.loss();
                        if (i < k - 1) {
                            model.onMicroBatchEnd();
                        }
                    }
                    try (NDScope scope = new NDScope()) {
                        lr = model.optimizerStep();
                        scope.suppressNotUsedWarning();
                    }
                } catch (io.github.sgm4j.optim.NonFiniteLossException e) {
                    throw new DivergedException(e.getMessage(), step + 1, lastCkpt, lastCkptStep, e);
                }
                double wait = (loader.waitNanos() - wait0) / 1e9;
                StepInfo info = new StepInfo(lossSum / k, lr, model.getGlobalStep(), sl.logs(), wait);
                lastLoss = info.loss();
                pending.append(String.format(Locale.ROOT, "%d,%.6f,%.3e,%.4f%n", info.globalStep(), info.loss(), lr, wait));
                String bad = Checkpoints.firstNonFinite(arrays(model.trainableParameters()));
                if (bad != null) {
                    throw new DivergedException("the update of step " + info.globalStep() + " made parameter '" + bad
                            + "' NaN or infinite (loss " + info.loss() + ", lr " + lr + "): stopping",
                            info.globalStep(), lastCkpt, lastCkptStep, null);
                }
                listener.onStep(info.globalStep(), info);
                long done = info.globalStep();
                boolean end = done >= opts.steps();
                if ((opts.checkpointEvery() > 0 && done % opts.checkpointEvery() == 0) || end) {
                    flush(metrics, pending);
                    model.save(last, opts.seed(), Map.of(Checkpoints.DATA_POSITION, loader.position().toString()));
                    lastCkpt = last;
                    lastCkptStep = done;
                    listener.message("checkpoint " + last + " (step " + done + ")");
                }
                if ((opts.imageEvery() > 0 && done % opts.imageEvery() == 0) || end) {
                    Path file = opts.outDir().resolve(String.format(Locale.ROOT, "samples-%06d.png", done));
                    grid.write(file, stepSeed(opts.seed(), done) ^ 0x5eedL);
                    listener.message("sample grid " + file);
                }
            }
            boolean early = model.getGlobalStep() < opts.steps();
            if (early) {
                flush(metrics, pending);
                model.save(last, opts.seed(), Map.of(Checkpoints.DATA_POSITION, loader.position().toString()));
                lastCkpt = last;
                listener.message("stopped at step " + model.getGlobalStep() + "; checkpoint " + last);
            }
            return new Result(model.getGlobalStep(), lastLoss, lastCkpt, early, loader.waitNanos() / 1e9,
                    loader.skippedFiles());
        } finally {
            flush(metrics, pending);
        }
    }

    /** The loader position to start at: the given one, else derived from the global step. */
    private Position startPosition(Listener listener) {
        if (startPosition != null) {
            return startPosition;
        }
        long step = model.getGlobalStep();
        if (step == 0) {
            return new Position(0, 0);
        }
        long size = data.size();
        int bs = loaderOptions.batchSize();
        if (size < bs) {
            throw new IllegalStateException("resuming at step " + step + " needs the data position the checkpoint"
                    + " records (" + Checkpoints.DATA_POSITION + "): " + data.description() + " has no known size");
        }
        long per = size / bs;
        long batches = step * opts.accumulateGradBatches();
        Position p = new Position(batches / per, (batches % per) * bs);
        listener.message("the checkpoint records no data position: continuing at " + p + " (epoch:index) derived from"
                + " step " + step);
        return p;
    }

    /** The shape of the batch's images, checked against the model's input key and first stage. */
    private ai.djl.ndarray.types.Shape checkedShape(Batch batch) {
        if (!batch.keys().contains(model.inputKey()) && batch.keys().contains(CachedLatents.MEAN)) {
            // cached latents: the images they encode are the latent side times the first stage's factor
            ai.djl.ndarray.types.Shape z = batch.shape(CachedLatents.MEAN);
            int f = model.downsamplingFactor();
            return new ai.djl.ndarray.types.Shape(z.get(0), -1, z.get(2) * f, z.get(3) * f);
        }
        if (!batch.keys().contains(model.inputKey()) || batch.isText(model.inputKey())) {
            throw new IllegalArgumentException(data.description() + " gives the keys " + batch.keys() + ", but the model"
                    + " reads its images from '" + model.inputKey() + "' (input_key / first_stage_key)");
        }
        ai.djl.ndarray.types.Shape s = batch.shape(model.inputKey());
        int f = model.downsamplingFactor();
        long h = s.get(s.dimension() - 2);
        long w = s.get(s.dimension() - 1);
        if (h % f != 0 || w % f != 0) {
            throw new IllegalArgumentException(data.description() + " gives " + h + "x" + w + " images, not a multiple"
                    + " of the first stage's downsampling factor " + f + " (set data.params.size to a multiple of " + f
                    + ")");
        }
        return s;
    }

    /** The batch's arrays in {@code m} and its captions as lists of strings. */
    private static Map<String, Object> values(Batch batch, NDManager m) {
        Map<String, Object> out = new LinkedHashMap<>(batch.toArrays(m));
        for (String key : batch.keys()) {
            if (batch.isText(key)) {
                out.put(key, batch.texts(key));
            }
        }
        return out;
    }

    /** The sample grid: its conditioning, chosen once from the model's keys and the data. */
    private final class Grid {
        private final int imageSize;
        private boolean built;
        private List<Integer> classes;
        private Batch dataBatch;
        private List<String> fromData;
        private int count;
        private int perRow;

        Grid(ai.djl.ndarray.types.Shape imageShape) {
            this.imageSize = (int) imageShape.get(imageShape.dimension() - 1);
        }

        void write(Path file, long seed) {
            try (NDScope ignored = new NDScope()) {
                if (!built) {
                    build();
                }
                Map<String, Object> conditioning = new LinkedHashMap<>();
                if (classes != null) {
                    conditioning.put("cls", classes);
                }
                if (!fromData.isEmpty()) {
                    Map<String, Object> v = values(dataBatch, model.getManager());
                    for (String key : fromData) {
                        conditioning.put(key, v.get(key));
                    }
                }
                NDArray images = model.sample(conditioning, count, imageSize, seed);
                ImageGrid.writePng(images, perRow, file);
            } catch (RuntimeException e) {
                throw new IllegalStateException("cannot write sample grid " + file + ": " + e.getMessage(), e);
            }
        }

        private void build() {
            List<String> keys = model.conditioningKeys();
            if (keys.contains("cls")) {
                classes = opts.sampleClasses();
                if (classes == null && model.numClasses() > 0) {
                    classes = new ArrayList<>();
                    for (int c = 0; c < Math.min(10, model.numClasses()); c++) {
                        classes.add(c);
                    }
                }
            }
            count = classes != null ? classes.size() : 16;
            perRow = classes != null ? Math.min(10, count) : 4;
            fromData = keys.stream().filter(key -> !(classes != null && key.equals("cls"))).toList();
            if (!fromData.isEmpty()) {
                try (Loader first = new Loader(data, new Loader.Options(count, 0, 1, false, true), opts.seed())) {
                    dataBatch = first.next();
                }
                for (String key : fromData) {
                    if (!dataBatch.keys().contains(key)) {
                        throw new IllegalStateException("the conditioning reads '" + key + "', but " + data.description()
                                + " gives only " + dataBatch.keys());
                    }
                }
            }
            built = true;
        }
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
        String header = "step,loss,lr,data_wait_s";
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
}
