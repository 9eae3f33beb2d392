package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.AutoencoderTraining;
import io.github.sgm4j.models.EngineCheckpoint;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.optim.AdamW;
import io.github.sgm4j.optim.NonFiniteLossException;
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

/**
 * The training loop of a first-stage autoencoder ({@link AutoencoderTraining}): one batch per step,
 * a metrics CSV with every logged loss, input | reconstruction grids, atomic checkpoints that hold
 * the reference keys and both optimizers' states, and a clean stop on request or on divergence.
 *
 * <p>Checkpoint pair, like {@link Checkpoints}: {@code last.safetensors} is the state dict of {@link
 * AutoencoderTraining#module()} ({@code encoder.*}, {@code decoder.*}, {@code loss.*} incl. the
 * discriminator's BatchNorm buffers; loadable by the reference) with the global step, seed and
 * learning rate in its metadata; {@code last.trainer.safetensors} holds optimizer {@code i}'s
 * moments under {@code opt<i>.<param>.exp_avg/.exp_avg_sq} and their step counts in the metadata.
 * Every step reseeds the noise with {@code (seed, step)} and reads the batch of {@code (seed,
 * step)}, so a resumed run equals the uninterrupted one bit for bit.
 */
public final class AutoencoderRun {

    /** Metadata key marking an autoencoder checkpoint. */
    public static final String KIND = "sgm4j.kind";

    /**
     * The images of each step.
     */
    @FunctionalInterface
    public interface Batches {
        /**
         * The images of step {@code step}.
         *
         * @param manager owns the returned array
         * @param step the 0-based step
         * @param batchSize the batch size
         * @param seed the run seed
         * @return images [B, C, H, W] in [-1, 1]
         */
        NDArray images(NDManager manager, long step, int batchSize, long seed);
    }

    /**
     * Options of a run.
     *
     * @param steps total steps (batches)
     * @param batchSize batch size
     * @param outDir where checkpoints, grids and metrics go
     * @param checkpointEvery checkpoint interval in steps (0: only at the end)
     * @param imageEvery grid interval in steps (0: only at the end)
     * @param seed run seed (data order and noise)
     */
    public record Options(long steps, int batchSize, Path outDir, long checkpointEvery, long imageEvery, long seed) {
        /**
         * Checks the values.
         *
         * @param steps total steps (batches)
         * @param batchSize batch size
         * @param outDir where checkpoints, grids and metrics go
         * @param checkpointEvery checkpoint interval in steps (0: only at the end)
         * @param imageEvery grid interval in steps (0: only at the end)
         * @param seed run seed
         * @throws IllegalArgumentException when steps or the batch size is below 1 or an interval is negative
         */
        public Options {
            if (steps < 1 || batchSize < 1 || checkpointEvery < 0 || imageEvery < 0) {
                throw new IllegalArgumentException("steps and batch size must be >= 1 and intervals >= 0, got steps "
                        + steps + ", batch size " + batchSize + ", checkpoint every " + checkpointEvery
                        + ", images every " + imageEvery);
            }
        }
    }

    /** Progress of a run, called on the running thread. */
    public interface Listener {
        /**
         * After every step.
         *
         * @param step the 1-based global step just completed
         * @param log the step's logged values
         */
        void onStep(long step, Map<String, Double> log);

        /**
         * A human-readable event (checkpoint, grid, stop).
         *
         * @param text the message
         */
        default void message(String text) {}
    }

    /**
     * The outcome of a run.
     *
     * @param finalStep global step at the end
     * @param lastLog the last step's log (empty when no step ran)
     * @param lastCheckpoint the last checkpoint, or null
     * @param stoppedEarly stopped by {@link #requestStop()}
     */
    public record Result(long finalStep, Map<String, Double> lastLog, Path lastCheckpoint, boolean stoppedEarly) {}

    private final AutoencoderTraining model;
    private final Batches data;
    private final NDArray gridImages;
    private final Options opts;
    private final AtomicBoolean stop = new AtomicBoolean();

    /**
     * A run of {@code model} (optimizers configured) on {@code data}.
     *
     * @param model the autoencoder in training
     * @param data the batches
     * @param gridImages fixed images (e.g. held-out) shown as input | reconstruction, or null for none
     * @param opts the options
     * @throws IllegalStateException when the model's optimizers are not configured
     */
    public AutoencoderRun(AutoencoderTraining model, Batches data, NDArray gridImages, Options opts) {
        if (model.getOptimizers().isEmpty()) {
            throw new IllegalStateException("configure the optimizers before training (configureOptimizers)");
        }
        this.model = model;
        this.data = data;
        this.gridImages = gridImages;
        this.opts = opts;
    }

    /** Asks the loop to stop after the current step (then a checkpoint is written). Thread-safe. */
    public void requestStop() {
        stop.set(true);
    }

    /** The CSV columns: {@code step}, {@code lr}, then the model's log keys. */
    private List<String> columns() {
        List<String> cols = new ArrayList<>(List.of("step", "lr"));
        cols.addAll(model.logKeys());
        return cols;
    }

    /**
     * Runs until {@code opts.steps} or a stop request.
     *
     * @param listener progress receiver
     * @return the outcome
     * @throws Trainer.DivergedException when a loss or an updated weight is not finite (nothing saved)
     * @throws UncheckedIOException when the output cannot be written
     */
    public Result run(Listener listener) {
        NDManager m = model.module().getManager();
        Path last = opts.outDir().resolve("last.safetensors");
        Path metrics = opts.outDir().resolve("metrics.csv");
        List<String> cols = columns();
        try {
            Files.createDirectories(opts.outDir());
            for (Path orphan : Checkpoints.removeOrphanedTempFiles(opts.outDir())) {
                listener.message("removed " + orphan + " (left by an interrupted checkpoint write)");
            }
            truncateMetrics(metrics, String.join(",", cols), model.getGlobalStep());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + opts.outDir() + ": " + e.getMessage(), e);
        }
        TorchNoiseSource noise = new TorchNoiseSource(Trainer.stepSeed(opts.seed(), model.getGlobalStep()));
        Path lastCkpt = Files.exists(last) ? last : null;
        Long lastCkptStep = lastCkpt == null ? null : Checkpoints.recordedStep(last);
        Map<String, Double> lastLog = Map.of();
        StringBuilder pending = new StringBuilder();
        try {
            while (model.getGlobalStep() < opts.steps() && !stop.get()) {
                long step = model.getGlobalStep();
                noise.reseed(Trainer.stepSeed(opts.seed(), step));
                Map<String, Double> log;
                try (NDScope scope = new NDScope()) {
                    NDArray x = data.images(m, step, opts.batchSize(), opts.seed());
                    log = model.trainBatch(x, step, noise);
                    scope.suppressNotUsedWarning();
                } catch (NonFiniteLossException e) {
                    throw new Trainer.DivergedException(e.getMessage(), step + 1, lastCkpt, lastCkptStep, e);
                }
                lastLog = log;
                long done = model.getGlobalStep();
                pending.append(row(cols, done, model.getLearningRate(), log));
                String bad = Checkpoints.firstNonFinite(arrays(model.trainableParameters()));
                if (bad != null) {
                    throw new Trainer.DivergedException("the update of step " + done + " made parameter '" + bad
                            + "' NaN or infinite: stopping", done, lastCkpt, lastCkptStep, null);
                }
                listener.onStep(done, log);
                boolean end = done >= opts.steps();
                if ((opts.checkpointEvery() > 0 && done % opts.checkpointEvery() == 0) || end) {
                    flush(metrics, pending);
                    save(last, model, opts.seed());
                    lastCkpt = last;
                    lastCkptStep = done;
                    listener.message("checkpoint " + last + " (step " + done + ")");
                }
                if (gridImages != null && ((opts.imageEvery() > 0 && done % opts.imageEvery() == 0) || end)) {
                    Path grid = opts.outDir().resolve(String.format(Locale.ROOT, "reconstructions-%06d.png", done));
                    writeGrid(model.getAutoencoder(), gridImages, grid);
                    listener.message("reconstruction grid " + grid);
                }
            }
        } finally {
            flush(metrics, pending);
        }
        boolean early = model.getGlobalStep() < opts.steps();
        if (early) {
            save(last, model, opts.seed());
            lastCkpt = last;
            listener.message("stopped at step " + model.getGlobalStep() + "; checkpoint " + last);
        }
        return new Result(model.getGlobalStep(), lastLog, lastCkpt, early);
    }

    private static String row(List<String> cols, long step, double lr, Map<String, Double> log) {
        StringBuilder sb = new StringBuilder();
        sb.append(step).append(',').append(String.format(Locale.ROOT, "%.3e", lr));
        for (String c : cols.subList(2, cols.size())) {
            Double v = log.get(c);
            sb.append(',');
            if (v != null) {
                sb.append(String.format(Locale.ROOT, "%.6g", v));
            }
        }
        return sb.append('\n').toString();
    }

    private static Map<String, NDArray> arrays(Map<String, Parameter> params) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray()));
        return out;
    }

    private static void flush(Path metrics, StringBuilder pending) {
        if (pending.length() == 0) {
            return;
        }
        try {
            Files.writeString(metrics, pending, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            pending.setLength(0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + metrics + ": " + e.getMessage(), e);
        }
    }

    static void truncateMetrics(Path metrics, String header, long step) throws IOException {
        if (!Files.exists(metrics)) {
            Files.writeString(metrics, header + "\n", StandardCharsets.UTF_8);
            return;
        }
        List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals(header)) {
            throw new IllegalStateException(metrics + " has the header '" + (lines.isEmpty() ? "" : lines.get(0))
                    + "', not '" + header + "': it belongs to another kind of run; use another --out");
        }
        List<String> kept = new ArrayList<>();
        kept.add(header);
        for (String line : lines.subList(1, lines.size())) {
            int comma = line.indexOf(',');
            try {
                if (comma > 0 && Long.parseLong(line.substring(0, comma)) <= step) {
                    kept.add(line);
                }
            } catch (NumberFormatException e) {
                // a torn last line of an interrupted write: dropped
            }
        }
        if (kept.size() != lines.size()) {
            Path tmp = metrics.resolveSibling(metrics.getFileName() + ".rewrite");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, metrics, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes a grid of inputs (first row) over their reconstructions (second row, posterior mode),
     * in eval mode without gradients.
     *
     * @param ae the autoencoder
     * @param images the inputs [N, C, H, W] in [-1, 1]
     * @param file the PNG
     */
    public static void writeGrid(AutoencoderKL ae, NDArray images, Path file) {
        boolean prev = F.setGradEnabled(false);
        var modes = ae.trainingModes();
        try (NDScope ignored = new NDScope()) {
            ae.eval();
            NDArray rec;
            try (DiagonalGaussianDistribution post = ae.posterior(images)) {
                rec = ae.decode(post.getMean());
            }
            NDArray both = ai.djl.ndarray.NDArrays.concat(new NDList(images, rec.clip(-1, 1)));
            ImageGrid.writePng(both, (int) images.getShape().get(0), file);
        } finally {
            io.github.sgm4j.nn.Module.restoreTrainingModes(modes);
            F.setGradEnabled(prev);
        }
    }

    /**
     * Saves the model file and the trainer file (both optimizers) atomically, refusing non-finite tensors.
     *
     * @param checkpoint the model file
     * @param model the model
     * @param seed the run seed to record
     * @throws EngineCheckpoint.NonFiniteTensorException before anything is written, naming the tensor
     */
    public static void save(Path checkpoint, AutoencoderTraining model, long seed) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(KIND, "autoencoder");
        meta.put(EngineCheckpoint.GLOBAL_STEP, Long.toString(model.getGlobalStep()));
        meta.put(EngineCheckpoint.SEED, Long.toString(seed));
        meta.put(EngineCheckpoint.LEARNING_RATE, Double.toString(model.getLearningRate()));
        Map<String, NDArray> sd = model.module().stateDict();
        EngineCheckpoint.requireFinite(checkpoint, sd);
        Path tf = EngineCheckpoint.trainerFile(checkpoint);
        Map<String, NDArray> trainer = new LinkedHashMap<>();
        Map<String, String> tmeta = new LinkedHashMap<>(meta);
        List<AdamW> opts = model.getOptimizers();
        for (int i = 0; i < opts.size(); i++) {
            String pre = "opt" + i + ".";
            opts.get(i).stateDict().forEach((k, v) -> trainer.put(pre + k, v));
            opts.get(i).stepCounts().forEach((k, v) -> tmeta.put("step." + pre + k, Long.toString(v)));
        }
        EngineCheckpoint.requireFinite(tf, trainer);
        Path modelTmp = null;
        Path trainerTmp = null;
        try {
            modelTmp = SafeTensors.writeTemp(checkpoint, sd, meta);
            trainerTmp = SafeTensors.writeTemp(tf, trainer, tmeta);
            SafeTensors.moveIntoPlace(modelTmp, checkpoint);
            modelTmp = null;
            SafeTensors.moveIntoPlace(trainerTmp, tf);
            trainerTmp = null;
        } finally {
            SafeTensors.deleteQuietly(modelTmp);
            SafeTensors.deleteQuietly(trainerTmp);
        }
    }

    /**
     * Restores a checkpoint of {@link #save}: weights and buffers strictly, the global step, and both
     * optimizers' moments and step counts (configure the optimizers first).
     *
     * @param checkpoint the model file
     * @param model the model, optimizers configured
     * @return the seed recorded, or null
     * @throws IllegalArgumentException when a file is missing, the two files' steps differ, or the
     *     checkpoint is not an autoencoder checkpoint
     * @throws io.github.sgm4j.nn.StateDictException when the keys do not match the model exactly
     */
    public static Long resume(Path checkpoint, AutoencoderTraining model) {
        Map<String, String> meta = EngineCheckpoint.checkResumable(checkpoint, false);
        if (!"autoencoder".equals(meta.get(KIND))) {
            throw new IllegalArgumentException(checkpoint + " is not an autoencoder training checkpoint (metadata "
                    + KIND + " = " + meta.get(KIND) + ")");
        }
        NDManager m = model.module().getManager();
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(checkpoint)) {
            Map<String, NDArray> sd = f.loadAll(m);
            EngineCheckpoint.requireFinite(checkpoint, sd);
            model.module().loadStateDict(sd, true);
        }
        Path tf = EngineCheckpoint.trainerFile(checkpoint);
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(tf)) {
            Map<String, NDArray> all = f.loadAll(m);
            Map<String, String> tmeta = f.metadata();
            List<AdamW> opts = model.getOptimizers();
            for (int i = 0; i < opts.size(); i++) {
                String pre = "opt" + i + ".";
                Map<String, NDArray> state = new LinkedHashMap<>();
                all.forEach((k, v) -> {
                    if (k.startsWith(pre)) {
                        state.put(k.substring(pre.length()), v);
                    }
                });
                Map<String, Long> steps = new LinkedHashMap<>();
                tmeta.forEach((k, v) -> {
                    if (k.startsWith("step." + pre)) {
                        steps.put(k.substring(5 + pre.length()), Long.parseLong(v));
                    }
                });
                opts.get(i).loadStateDict(state, steps);
            }
        }
        model.setGlobalStep(Long.parseLong(meta.get(EngineCheckpoint.GLOBAL_STEP)));
        String seed = meta.get(EngineCheckpoint.SEED);
        return seed == null ? null : Long.parseLong(seed);
    }
}
