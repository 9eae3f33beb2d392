package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.eval.DigitClassifier;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.models.SampleOptions;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.ImageGrid;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * {@code sgm4j digit-accuracy CONFIG --ckpt CKPT}: samples {@code --per-class} images of each digit
 * from a class-conditional MNIST DiffusionEngine and reports how often an independent classifier
 * ({@link DigitClassifier}, trained on the MNIST training split) sees the digit that was asked for,
 * overall and per digit, together with the classifier's own accuracy on the MNIST test split.
 *
 * <p>Batch {@code i} of at most {@value #BATCH} samples (digits in order 0..9, {@code --per-class}
 * of each) is sampled with seed {@code --seed + i}. Samples are clamped to [-1, 1] before they are
 * classified.
 */
@Command(name = "digit-accuracy", mixinStandardHelpOptions = true,
        description = "Sample each digit from a class-conditional MNIST checkpoint and report how often an independent"
                + " MNIST classifier recognises the digit asked for.")
final class DigitAccuracyCommand implements Callable<Integer> {

    /** Samples per call of the sampler (bounds memory). */
    static final int BATCH = 50;

    @Parameters(index = "0", description = "sgm-format config (YAML) of a class-conditional MNIST model")
    Path config;

    @Option(names = "--ckpt", required = true, description = "checkpoint (.safetensors, or a PyTorch .ckpt/.pth)")
    Path ckpt;

    @Option(names = "--per-class", defaultValue = "10", description = "samples of each digit (default: ${DEFAULT-VALUE})")
    int perClass;

    @Option(names = "--seed", defaultValue = "0", description = "sampling seed of the first batch; batch i uses seed + i"
            + " (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--steps", description = "sampler steps (default: the config's num_steps)")
    Integer steps;

    @Option(names = "--cfg", description = "classifier-free guidance scale (default: the config's guider)")
    Double cfg;

    @Option(names = "--ema", description = "sample with the EMA weights (when the checkpoint has them)")
    boolean ema;

    @Option(names = "--mnist", defaultValue = "data/mnist", description = "directory of the MNIST IDX files"
            + " (default: ${DEFAULT-VALUE})")
    Path mnist;

    @Option(names = "--classifier", defaultValue = "runs/digit-classifier.safetensors", description = "digit classifier"
            + " weights; trained on the MNIST training split and saved there when missing (default: ${DEFAULT-VALUE})")
    Path classifier;

    @Option(names = "--classifier-steps", description = "training steps when the classifier is trained (default: "
            + "468, two epochs of batch 256)")
    Long classifierSteps;

    @Option(names = "--grid", description = "write the samples as a PNG grid, one row per digit")
    Path grid;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Spec
    CommandSpec spec;

    /** Every option, before any work: exit code 2 with a message naming the option. */
    private void validate() {
        Validate.file(spec, "CONFIG", config);
        Validate.file(spec, "--ckpt", ckpt);
        Validate.positive(spec, "--per-class", perClass);
        Validate.positive(spec, "--steps", steps);
        Validate.finite(spec, "--cfg", cfg);
        Validate.positive(spec, "--classifier-steps", classifierSteps);
        Validate.directory(spec, "--mnist", mnist);
        if (Files.exists(classifier)) {
            Validate.file(spec, "--classifier", classifier);
        } else {
            Validate.outputFile(spec, "--classifier", classifier);
        }
        if (grid != null) {
            Validate.outputFile(spec, "--grid", grid);
        }
        Validate.device(spec, "--device", device);
    }

    @Override
    public Integer call() throws Exception {
        validate();
        ConfigNode root = EngineLoader.config(config);
        if (LdmSampling.isLdm(root)) {
            throw new IllegalArgumentException(config + " is an ldm config (DDPM/LatentDiffusion); digit-accuracy samples"
                    + " sgm DiffusionEngine configs");
        }
        MnistDataset test = MnistDataset.load(mnist, false);
        try (DigitClassifier judge = classifier()) {
            double testAccuracy = judge.accuracy(test);
            System.out.printf(Locale.ROOT, "classifier %s: test accuracy %.2f%% on the %d MNIST test digits%n",
                    classifier, 100 * testAccuracy, test.size());
            try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
                DiffusionEngine engine = EngineLoader.load(root, manager, seed);
                if (ema && engine.getModelEma() == null) {
                    throw new IllegalArgumentException("--ema: the config " + config + " has no use_ema, so there are no"
                            + " EMA weights to sample with");
                }
                Checkpoints.loadWeights(ckpt, engine, ema);
                engine.eval();
                boolean conditional = engine.getConditioner().getEmbedders().stream()
                        .anyMatch(e -> "cls".equals(e.getInputKey()));
                if (!conditional) {
                    throw new IllegalArgumentException(config + " is not class-conditional (no embedder with input_key cls)");
                }
                int[] asked = askedDigits(perClass);
                int[] predicted = new int[asked.length];
                List<NDArray> kept = new ArrayList<>();
                SampleOptions base = SampleOptions.defaults().withEma(ema).withNumSteps(steps).withGuidanceScale(cfg)
                        .withImageSize(imageSize(root));
                int batches = (asked.length + BATCH - 1) / BATCH;
                try (ProgressBar pb = new ProgressBarBuilder().setTaskName("sample " + asked.length + " digits")
                        .setStyle(ProgressBarStyle.ASCII).setInitialMax(batches).continuousUpdate().build()) {
                    for (int b = 0; b < batches; b++) {
                        long done = b;
                        int from = b * BATCH;
                        int to = Math.min(asked.length, from + BATCH);
                        List<Integer> labels = new ArrayList<>();
                        for (int i = from; i < to; i++) {
                            labels.add(asked[i]);
                        }
                        NDManager batchManager = manager.newSubManager();
                        NDArray images = engine.sample(Map.of("cls", labels), labels.size(),
                                base.withSeed(seed + b).withManager(batchManager)
                                        .withProgress((step, total, sigma, denoised) -> {
                                            // sampler steps over all batches
                                            pb.maxHint((long) total * batches);
                                            pb.stepTo(done * total + step + 1);
                                            return true;
                                        }));
                        NDArray clamped = images.clip(-1, 1);
                        int[] p = classify(judge, clamped);
                        System.arraycopy(p, 0, predicted, from, p.length);
                        if (grid != null) {
                            kept.add(clamped);
                        } else {
                            batchManager.close();
                        }
                    }
                }
                report(asked, predicted);
                if (grid != null) {
                    NDArray all = kept.size() == 1 ? kept.get(0) : NDArrays.concat(new NDList(kept), 0);
                    ImageGrid.writePng(all, perClass, grid);
                    System.err.println("wrote " + grid);
                }
            }
        }
        return 0;
    }

    /** The digits asked for, in order: {@code perClass} zeros, then ones, ... */
    static int[] askedDigits(int perClass) {
        int[] asked = new int[10 * perClass];
        for (int i = 0; i < asked.length; i++) {
            asked[i] = i / perClass;
        }
        return asked;
    }

    private static int[] classify(DigitClassifier judge, NDArray images) {
        try {
            return judge.predict(images);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the samples cannot be classified: " + e.getMessage(), e);
        }
    }

    /** Loads {@code --classifier}, or trains it on the MNIST training split and saves it there. */
    private DigitClassifier classifier() {
        if (Files.exists(classifier)) {
            return DigitClassifier.load(classifier);
        }
        DigitClassifier.Options opts = DigitClassifier.Options.defaults();
        if (classifierSteps != null) {
            opts = opts.withSteps(classifierSteps);
        }
        System.err.println(classifier + " not found: training the digit classifier on " + mnist + " (" + opts.steps()
                + " steps of " + opts.batchSize() + " digits)");
        MnistDataset train = MnistDataset.load(mnist, true);
        long t0 = System.nanoTime();
        DigitClassifier c;
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName("train classifier").setStyle(ProgressBarStyle.ASCII)
                .setInitialMax(opts.steps()).continuousUpdate().build()) {
            c = DigitClassifier.train(train, opts, (step, total, loss) -> pb.stepTo(step));
        }
        try {
            c.save(classifier);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        System.err.printf(Locale.ROOT, "trained in %.0f s, saved %s%n", (System.nanoTime() - t0) / 1e9, classifier);
        return c;
    }

    /** Prints the overall and per-digit accuracy, and each digit's most frequent wrong prediction. */
    static void report(int[] asked, int[] predicted) {
        int[][] confusion = new int[10][10];
        for (int i = 0; i < asked.length; i++) {
            confusion[asked[i]][predicted[i]]++;
        }
        int correct = 0;
        StringBuilder table = new StringBuilder("digit  correct  accuracy  most often seen instead\n");
        for (int d = 0; d < 10; d++) {
            int n = 0;
            int wrong = -1;
            for (int p = 0; p < 10; p++) {
                n += confusion[d][p];
                if (p != d && confusion[d][p] > 0 && (wrong < 0 || confusion[d][p] > confusion[d][wrong])) {
                    wrong = p;
                }
            }
            correct += confusion[d][d];
            table.append(String.format(Locale.ROOT, "%5d  %7s  %7.1f%%  %s%n", d, confusion[d][d] + "/" + n,
                    100.0 * confusion[d][d] / n, wrong < 0 ? "-" : wrong + " (" + confusion[d][wrong] + ")"));
        }
        System.out.printf(Locale.ROOT, "sample accuracy %.2f%% (%d/%d samples show the digit asked for)%n",
                100.0 * correct / asked.length, correct, asked.length);
        System.out.print(table);
    }

    /**
     * The image side for sampling, or null when the config sets {@code network_config.params.image_size}
     * (the latent side, from which the engine derives the shape). Otherwise: 28 (MNIST) for a model
     * without a first stage, else the first stage's {@code ddconfig.resolution} (the pixel side it
     * was trained on, e.g. MNIST padded to 32).
     */
    static Integer imageSize(ConfigNode root) {
        ConfigNode params = EngineLoader.modelNode(root).getNode("params");
        ConfigNode net = params.getNode("network_config").getNodeOrEmpty("params");
        if (net.has("image_size") && !net.isNull("image_size")) {
            return null;
        }
        ConfigNode first = params.has("first_stage_config") ? params.getNode("first_stage_config") : null;
        String target = first == null || !first.has("target") ? "" : String.valueOf(first.asMap().get("target"));
        if (first == null || target.endsWith("IdentityFirstStage")) {
            return MnistDataset.SIDE;
        }
        ConfigNode dd = first.getNodeOrEmpty("params").getNodeOrEmpty("ddconfig");
        if (dd.has("resolution")) {
            return dd.getInt("resolution");
        }
        throw new IllegalArgumentException(root.pathOf("model") + ": cannot tell the image size of the samples: set"
                + " model.params.network_config.params.image_size (the latent side) or first_stage_config.params"
                + ".ddconfig.resolution");
    }
}
