package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.models.SampleOptions;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.ImageGrid;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
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

/** {@code sgm4j sample CONFIG --ckpt CKPT --out DIR}: a PNG grid and a safetensors of sampled images. */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Sample images from a trained DiffusionEngine checkpoint.")
final class SampleCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "sgm-format config (YAML)")
    Path config;

    @Option(names = "--ckpt", required = true, description = "checkpoint (.safetensors, or a PyTorch .ckpt/.pth)")
    Path ckpt;

    @Option(names = "--n", defaultValue = "16", description = "number of samples (default: ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--classes", split = ",", description = "class labels, e.g. 0,1,2 (repeated to --n)")
    List<Integer> classes;

    @Option(names = "--steps", description = "sampler steps (default: the config's num_steps)")
    Integer steps;

    @Option(names = "--cfg", description = "classifier-free guidance scale (default: the config's guider)")
    Double cfg;

    @Option(names = "--seed", defaultValue = "0", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--ema", description = "sample with the EMA weights (when the checkpoint has them)")
    boolean ema;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--out", required = true, description = "output directory")
    Path out;

    @Option(names = "--sampler", description = "ldm configs (DDPM/LatentDiffusion): ddim (default), plms or ddpm")
    String sampler;

    @Option(names = "--eta", defaultValue = "0.0", description = "DDIM eta for ldm configs (default: ${DEFAULT-VALUE})")
    double eta;

    @Option(names = "--uc-class", description = "ldm class-conditional configs: the unconditional class for --cfg")
    Integer ucClass;

    @Spec
    CommandSpec spec;

    /** Every option, before any work: exit code 2 with a message naming the option. */
    private void validate() {
        Validate.file(spec, "CONFIG", config);
        Validate.file(spec, "--ckpt", ckpt);
        Validate.positive(spec, "--n", n);
        Validate.positive(spec, "--steps", steps);
        Validate.finite(spec, "--cfg", cfg);
        Validate.finite(spec, "--eta", eta);
        Validate.nonNegative(spec, "--eta", eta);
        Validate.nonNegative(spec, "--uc-class", ucClass);
        if (classes != null) {
            for (Integer c : classes) {
                Validate.nonNegative(spec, "--classes", c);
            }
        }
        if (sampler != null && !List.of("ddim", "plms", "ddpm").contains(sampler)) {
            throw Validate.bad(spec, "--sampler must be ddim, plms or ddpm, got " + sampler);
        }
        Validate.device(spec, "--device", device);
        Validate.outputDirectory(spec, "--out", out);
    }

    private Integer sampleLdm(ConfigNode root) {
        String which = sampler == null ? "ddim" : sampler;
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
            List<Integer> labels = null;
            if (classes != null && !classes.isEmpty()) {
                labels = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    labels.add(classes.get(i % classes.size()));
                }
            }
            int total = steps != null ? steps : 50;
            NDArray images;
            try (ProgressBar pb = new ProgressBarBuilder().setTaskName("sample " + which).setStyle(ProgressBarStyle.ASCII)
                    .setInitialMax(which.equals("ddpm") ? 0 : total).continuousUpdate().build()) {
                images = LdmSampling.sample(root, ckpt, which, total, eta, labels, ucClass, cfg == null ? 1.0 : cfg, n, seed,
                        manager, pb::stepTo);
            }
            write(images, labels, manager);
            return 0;
        }
    }

    private void write(NDArray images, List<Integer> labels, NDManager manager) {
        if (Checkpoints.firstNonFinite(Map.of("images", images)) != null) {
            throw new IllegalStateException("the samples hold NaN or infinite values (checkpoint " + ckpt
                    + "): nothing written to " + out);
        }
        try {
            Files.createDirectories(out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        int nrow = labels != null ? Math.min(10, new java.util.HashSet<>(labels).size()) : 4;
        ImageGrid.writePng(images, nrow, out.resolve("samples.png"));
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("images", images);
        long[] lab = labels == null ? new long[0] : labels.stream().mapToLong(Integer::longValue).toArray();
        tensors.put("labels", Tensors.create(manager, lab));
        SafeTensors.write(out.resolve("samples.safetensors"), tensors, Map.of("classes", Arrays.toString(lab)));
        System.err.println("wrote " + out.resolve("samples.png") + " and " + out.resolve("samples.safetensors"));
    }

    @Override
    public Integer call() throws Exception {
        validate();
        ConfigNode root = EngineLoader.config(config);
        if (LdmSampling.isLdm(root)) {
            return sampleLdm(root);
        }
        if (sampler != null) {
            throw new IllegalArgumentException("--sampler applies to ldm configs; this config's sampler is its sampler_config");
        }
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
            DiffusionEngine engine = EngineLoader.load(root, manager, seed);
            if (ema && engine.getModelEma() == null) {
                throw new IllegalArgumentException("--ema: the config " + config + " has no use_ema, so there are no EMA"
                        + " weights to sample with");
            }
            Checkpoints.loadWeights(ckpt, engine, ema);
            engine.eval();
            List<Integer> labels = null;
            boolean conditional = engine.getConditioner().getEmbedders().stream().anyMatch(e -> "cls".equals(e.getInputKey()));
            if (conditional) {
                List<Integer> base = classes == null || classes.isEmpty() ? List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9) : classes;
                labels = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    labels.add(base.get(i % base.size()));
                }
            } else if (classes != null) {
                throw new IllegalArgumentException("--classes given, but " + config + " is not class-conditional");
            }
            SampleOptions options = SampleOptions.defaults().withSeed(seed).withEma(ema).withNumSteps(steps)
                    .withGuidanceScale(cfg).withImageSize(imageSize(root)).withManager(manager);
            NDArray images;
            try (ProgressBar pb = new ProgressBarBuilder().setTaskName("sample").setStyle(ProgressBarStyle.ASCII)
                    .setInitialMax(1).continuousUpdate().build()) {
                images = engine.sample(labels == null ? Map.of() : Map.of("cls", labels), n,
                        options.withProgress((step, total, sigma, denoised) -> {
                            pb.maxHint(total);
                            pb.stepTo(step + 1);
                            return true;
                        }));
            }
            write(images, labels, manager);
            return 0;
        }
    }

    /**
     * The image side for sampling: null (the engine reads {@code network_config.params.image_size})
     * when the config sets it, else the MNIST side this command samples by default.
     */
    private static Integer imageSize(ConfigNode root) {
        ConfigNode net = EngineLoader.modelNode(root).getNode("params").getNode("network_config").getNodeOrEmpty("params");
        return net.has("image_size") && !net.isNull("image_size") ? null : MnistDataset.SIDE;
    }
}
