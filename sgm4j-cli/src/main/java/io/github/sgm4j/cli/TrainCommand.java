package io.github.sgm4j.cli;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.models.AutoencoderTrainers;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.Trainer;
import io.github.sgm4j.train.EngineTraining;
import io.github.sgm4j.train.LdmTraining;
import io.github.sgm4j.train.TrainableModel;
import io.github.sgm4j.train.data.CachedLatents;
import io.github.sgm4j.train.data.Dataset;
import io.github.sgm4j.train.data.Datasets;
import io.github.sgm4j.train.data.Loader;
import io.github.sgm4j.train.data.Position;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sgm4j train CONFIG}: trains a DiffusionEngine or ldm LatentDiffusion config, or a first-stage autoencoder config
 * (ldm {@code AutoencoderKL}), on the MNIST digits with progress, checkpoints and sample grids.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a DiffusionEngine (sgm YAML; pixel or latent space) or an ldm LatentDiffusion on the config's data section (image folder, tar shards, MNIST), or a first-stage autoencoder (ldm/sgm YAML) on the MNIST digits.")
final class TrainCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "sgm-format config (YAML)")
    Path config;

    @Option(names = "--steps", description = "total training steps (default: the config's lightning.trainer.max_steps,"
            + " else max_epochs x batches per epoch, else 2000)")
    Long steps;

    @Option(names = "--batch-size", description = "batch size (default: the config's data.params.batch_size)")
    Integer batchSize;

    @Option(names = "--out", description = "output directory (default: runs/<config name>)")
    Path out;

    @Option(names = "--resume", description = "checkpoint to resume from (its .trainer.safetensors sidecar, of the same"
            + " step, restores the optimizer)")
    Path resume;

    @Option(names = "--reset-optimizer", description = "with --resume: start the optimizer from scratch (allows a"
            + " missing .trainer.safetensors)")
    boolean resetOptimizer;

    @Option(names = "--latents", description = "train from the cached latents `encode-dataset` wrote into this directory"
            + " instead of the config's data (same batch size; the first stage is not run per step)")
    Path latents;

    @Spec
    CommandSpec spec;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--seed", defaultValue = "0", description = "run seed: init, data order, noise (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--data", defaultValue = "data/mnist", description = "MNIST IDX directory, for MNIST data targets and configs without a data target (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--checkpoint-every", description = "steps between checkpoints (default: the config's lightning modelcheckpoint, else 500)")
    Long checkpointEvery;

    @Option(names = "--image-every", description = "steps between sample grids (default: the config's image_logger batch_frequency, else 500)")
    Long imageEvery;

    @Option(names = "--no-scale-lr", description = "autoencoders and ldm LatentDiffusion: use base_learning_rate as is (default: scaled by"
            + " accumulate_grad_batches x devices x batch size, as the reference's main.py)")
    boolean noScaleLr;

    /** The progress bar of a run of {@code total} steps starting at {@code initial}: speed and ETA count this run's steps only. */
    static ProgressBarBuilder progressBar(long total, long initial) {
        return new ProgressBarBuilder().setTaskName("train").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                .setUnit(" steps", 1).showSpeed().continuousUpdate().startsFrom(initial, Duration.ZERO);
    }

    /**
     * Validates the options, loads the data and the engine (resuming when asked) and runs the {@link
     * Trainer} with a progress bar; a shutdown hook (Ctrl-C) stops it after the current step and waits
     * up to 120 s for its checkpoint.
     *
     * @return 0 when training finished or was stopped, 2 when it diverged
     * @throws picocli.CommandLine.ParameterException when an option is invalid
     * @throws Exception when loading or training fails
     */
    @Override
    public Integer call() throws Exception {
        Validate.file(spec, "CONFIG", config);
        Validate.positive(spec, "--steps", steps);
        Validate.positive(spec, "--batch-size", batchSize);
        Validate.positive(spec, "--checkpoint-every", checkpointEvery);
        Validate.positive(spec, "--image-every", imageEvery);
        Validate.device(spec, "--device", device);
        Validate.directory(spec, "--data", data);
        if (resetOptimizer && resume == null) {
            throw Validate.bad(spec, "--reset-optimizer applies to --resume");
        }
        Long resumedStep = null;
        if (resume != null) {
            Validate.file(spec, "--resume", resume);
            try {
                String s = Checkpoints.checkResumable(resume, resetOptimizer).get(Checkpoints.GLOBAL_STEP);
                resumedStep = s == null ? null : Long.parseLong(s);
            } catch (IllegalArgumentException e) {
                throw Validate.bad(spec, "--resume: " + e.getMessage());
            }
        }
        ConfigNode root = EngineLoader.config(config);
        if (AutoencoderTrainers.isAutoencoder(EngineLoader.modelNode(root))) {
            return AutoencoderCommand.train(this, root);
        }
        Datasets.Spec dataSpec;
        if (latents != null) {
            Validate.directory(spec, "--latents", latents);
            Loader.Options cfg = dataSpec(spec, config, root, batchSize, data).options();
            dataSpec = new Datasets.Spec(new CachedLatents(latents), new Loader.Options(cfg.batchSize(), 0, cfg.prefetch(),
                    cfg.shuffle(), false));
        } else {
            dataSpec = dataSpec(spec, config, root, batchSize, data);
        }
        Loader.Options lo = dataSpec.options();
        if (batchSize != null) {
            lo = new Loader.Options(batchSize, lo.numWorkers(), lo.prefetch(), lo.shuffle(), lo.skipBadFiles());
        }
        Dataset dataset = dataSpec.dataset();
        int bs = lo.batchSize();
        int accumulate = AutoencoderTrainers.accumulateGradBatches(root);
        if (accumulate < 1) {
            throw Validate.bad(spec, config + ": lightning.trainer.accumulate_grad_batches must be at least 1, got "
                    + accumulate);
        }
        Path outDir = out != null ? out : Path.of("runs", config.getFileName().toString().replaceAll("\\.ya?ml$", ""));
        Validate.outputDirectory(spec, out != null ? "--out" : "output directory (--out)", outDir);
        long perEpoch = dataset.size() < 0 ? -1 : dataset.size() / ((long) bs * accumulate);
        long total;
        if (steps != null) {
            total = steps;
        } else if (perEpoch < 0 && !hasMaxSteps(root)) {
            throw Validate.bad(spec, config + ": " + dataset.description() + " has no known length, so max_epochs cannot"
                    + " be turned into steps: set lightning.trainer.max_steps or pass --steps N");
        } else {
            total = trainerSteps(root, Math.max(perEpoch, 0), 2000);
        }
        if (total < 1) {
            throw Validate.bad(spec, config + ": lightning.trainer gives " + total + " steps; pass --steps N (N >= 1)");
        }
        if (resumedStep != null && resumedStep >= total) {
            throw Validate.bad(spec, "--steps " + total + (steps == null ? " (from the config)" : "") + ": the checkpoint "
                    + resume + " is already at step " + resumedStep + "; pass a larger --steps to train longer");
        }
        long ckptEvery = checkpointEvery != null ? checkpointEvery : lightningInt(root, "modelcheckpoint", 500);
        long imgEvery = imageEvery != null ? imageEvery : lightningInt(root, "image_logger", 500);
        Double clip = gradientClipVal(root);
        System.err.printf(Locale.ROOT, "data: %s, batch %d%s, %s%n", dataset.description(), bs,
                accumulate > 1 ? " x " + accumulate + " accumulated" : "",
                lo.numWorkers() == 0 ? "decoded on the training thread" : lo.numWorkers() + " decoding threads");
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
            TrainableModel model = buildModel(root, manager, clip, bs);
            long runSeed = seed;
            Position position = null;
            if (resume != null) {
                Long saved = model instanceof LdmTraining ldm ? ldm.resume(resume, resetOptimizer)
                        : Checkpoints.resume(resume, ((EngineTraining) model).engine(), resetOptimizer);
                if (saved != null) {
                    runSeed = saved;
                }
                String pos = Checkpoints.checkResumable(resume, true).get(Checkpoints.DATA_POSITION);
                position = pos == null ? null : Position.parse(pos);
                System.err.printf("resumed from %s at step %d%s%n", resume, model.getGlobalStep(),
                        position == null ? "" : ", data position " + position);
            }
            Trainer trainer = new Trainer(model, dataset, lo,
                    new Trainer.Options(total, outDir, ckptEvery, imgEvery, runSeed, null, accumulate)).startAt(position);
            StopHook stop = StopHook.install(trainer::requestStop);
            Trainer.Result result;
            try (ProgressBar pb = progressBar(total, model.getGlobalStep()).build()) {
                result = trainer.run(new Trainer.Listener() {
                    @Override
                    public void onStep(long step, Trainer.StepInfo r) {
                        pb.stepTo(step);
                        pb.setExtraMessage(String.format(Locale.ROOT, " loss %.4f lr %.1e", r.loss(), r.lr()));
                    }

                    @Override
                    public void message(String text) {
                        System.err.println("\n" + text);
                    }
                });
            } catch (Trainer.DivergedException e) {
                System.err.println("\n" + e.getMessage());
                return 2;
            } finally {
                stop.finished();
            }
            stop.remove();
            System.err.printf(Locale.ROOT, "%s at step %d, last loss %.4f, checkpoint %s; waited %.1f s for data%s%n",
                    result.stoppedEarly() ? "stopped" : "finished", result.finalStep(), result.lastLoss(),
                    result.lastCheckpoint(), result.dataWaitSeconds(),
                    result.skippedFiles() > 0 ? ", skipped " + result.skippedFiles() + " bad files" : "");
            return 0;
        }
    }

    /**
     * The model of the config, allocated in {@code manager} from {@code --seed}: ldm's {@code
     * LatentDiffusion} ({@link LdmTraining}, at {@code main.py}'s learning rate) or sgm's {@code
     * DiffusionEngine} ({@link EngineTraining}).
     */
    TrainableModel buildModel(ConfigNode root, NDManager manager, Double clip, int bs) {
        if (LdmTraining.isLatentDiffusion(root)) {
            double lr = AutoencoderTrainers.learningRate(root, bs, 1, !noScaleLr);
            System.err.printf(Locale.ROOT, "ldm LatentDiffusion, learning rate %.2e%s%n", lr,
                    noScaleLr ? " (base_learning_rate, not scaled)" : " (accumulate_grad_batches x batch size x base_learning_rate)");
            LdmTraining ldm = LdmTraining.fromConfig(root, manager, seed, lr);
            ldm.setGradClipNorm(clip);
            return ldm;
        }
        DiffusionEngine engine = EngineLoader.load(root, manager, seed);
        if (engine.getLossFn() == null) {
            throw new IllegalArgumentException(config + ": model.params has no loss_fn_config, so it cannot be trained");
        }
        engine.setGradClipNorm(clip);
        return new EngineTraining(engine);
    }

    static long trainerSteps(ConfigNode root, long batchesPerEpoch, long def) {
        if (root.isNode("lightning") && root.getNode("lightning").isNode("trainer")) {
            ConfigNode t = root.getNode("lightning").getNode("trainer");
            if (!t.isNull("max_steps") && t.getLong("max_steps") > 0) {
                return t.getLong("max_steps");
            }
            if (!t.isNull("max_epochs")) {
                return t.getLong("max_epochs") * batchesPerEpoch;
            }
        }
        return def;
    }

    /**
     * The dataset of the config's {@code data} section ({@link Datasets#fromConfig}); a section without
     * {@code target} (or none) is sgm's MNIST loader over {@code mnistDir} with its {@code batch_size}
     * (64 when absent).
     */
    static Datasets.Spec dataSpec(CommandSpec spec, Path config, ConfigNode root, Integer batchSize, Path mnistDir) {
        if (root.isNode("data") && root.getNode("data").has("target")) {
            return Datasets.fromConfig(root.getNode("data"), mnistDir);
        }
        int bs = batchSize != null ? batchSize : dataBatchSize(root, 64);
        if (bs < 1) {
            throw Validate.bad(spec, config + ": data.params.batch_size must be at least 1, got " + bs
                    + " (or pass --batch-size)");
        }
        String yaml = "target: " + Datasets.SGM_MNIST + "\nparams: {batch_size: " + bs + "}\n";
        return Datasets.fromConfig(ConfigNode.parse(yaml, config + " (data: sgm MNIST loader)"), mnistDir);
    }

    static boolean hasMaxSteps(ConfigNode root) {
        if (root.isNode("lightning") && root.getNode("lightning").isNode("trainer")) {
            ConfigNode t = root.getNode("lightning").getNode("trainer");
            return !t.isNull("max_steps") && t.getLong("max_steps", -1) > 0;
        }
        return false;
    }

    /** {@code lightning.trainer.gradient_clip_val} (Lightning's norm clipping), or null when absent or 0. */
    static Double gradientClipVal(ConfigNode root) {
        if (root.isNode("lightning") && root.getNode("lightning").isNode("trainer")) {
            ConfigNode t = root.getNode("lightning").getNode("trainer");
            if (t.has("gradient_clip_algorithm") && !"norm".equals(t.getString("gradient_clip_algorithm"))) {
                throw new io.github.sgm4j.config.ConfigException(t.pathOf("gradient_clip_algorithm"), "only 'norm' is"
                        + " supported");
            }
            if (t.has("gradient_clip_val") && !t.isNull("gradient_clip_val")) {
                double v = t.getDouble("gradient_clip_val");
                if (v < 0) {
                    throw new io.github.sgm4j.config.ConfigException(t.pathOf("gradient_clip_val"), "must be at least 0,"
                            + " got " + v);
                }
                return v == 0 ? null : v;
            }
        }
        return null;
    }

    static int dataBatchSize(ConfigNode root, int def) {
        if (root.isNode("data") && root.getNode("data").isNode("params")) {
            return root.getNode("data").getNode("params").getInt("batch_size", def);
        }
        return def;
    }

    static long lightningInt(ConfigNode root, String which, long def) {
        if (!root.isNode("lightning")) {
            return def;
        }
        ConfigNode l = root.getNode("lightning");
        if (which.equals("modelcheckpoint") && l.isNode("modelcheckpoint")) {
            ConfigNode p = l.getNode("modelcheckpoint").getNodeOrEmpty("params");
            return p.getLong("every_n_train_steps", def);
        }
        if (which.equals("image_logger") && l.isNode("callbacks") && l.getNode("callbacks").isNode("image_logger")) {
            ConfigNode p = l.getNode("callbacks").getNode("image_logger").getNodeOrEmpty("params");
            return p.getLong("batch_frequency", def);
        }
        return def;
    }
}
