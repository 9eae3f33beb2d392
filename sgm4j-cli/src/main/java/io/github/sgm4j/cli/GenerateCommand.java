package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.pipeline.GenerationOptions;
import io.github.sgm4j.pipeline.PngOutput;
import io.github.sgm4j.pipeline.SamplingPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Option;

/**
 * The options and the loop shared by {@code txt2img} and {@code img2img}: the pipeline is built once,
 * then image {@code i} of {@code --n} is generated alone with seed {@code --seed + i} (so each PNG
 * is reproducible from the parameters in its text chunk) under its own progress bar, and written
 * to {@code OUT/PREFIX-sSEED-INDEX.png}.
 */
abstract class GenerateCommand implements Callable<Integer> {

    @Option(names = "--config", required = true,
            description = "inference config: v1-inference.yaml (SD 1.x), sd_2_1.yaml / sd_2_1_768.yaml, sd_xl_base.yaml")
    Path config;

    @Option(names = "--ckpt", required = true, description = "single-file checkpoint (.safetensors, .ckpt)")
    Path ckpt;

    @Option(names = "--prompt", required = true, description = "the prompt (may be empty; over 77 tokens is truncated)")
    String prompt;

    @Option(names = "--negative", defaultValue = "", description = "negative prompt (default: none)")
    String negative;

    @Option(names = "--steps", defaultValue = "30", description = "sampler steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--cfg", defaultValue = "7.5", description = "guidance scale (default: ${DEFAULT-VALUE})")
    double cfg;

    @Option(names = "--sampler", description = "ddim (default) or plms for ldm configs; DPMPP2MSampler (default),"
            + " EulerEDMSampler, EulerAncestralSampler, HeunEDMSampler, DPMPP2SAncestralSampler, LinearMultistepSampler"
            + " for sgm configs")
    String sampler;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the first image; image i uses seed + i"
            + " (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--n", defaultValue = "1", description = "number of images (default: ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--out", required = true, description = "output directory")
    Path out;

    /** The command's name, the file prefix. */
    abstract String name();

    /** Checks the command's own options before anything is loaded. */
    abstract void validateMore();

    /** The options' image size, or null for the model's (img2img: the init image's). */
    abstract int[] size();

    /** Generates one image (batch of one) with the pipeline. */
    abstract NDArray generate(SamplingPipeline p, GenerationOptions o, NDManager m);

    /** Loads what the command needs besides the pipeline (e.g. a refiner); released by {@link #release()}. */
    void prepare() {}

    /** Releases what {@link #prepare()} loaded. */
    void release() {}

    /** The options a generation runs with besides the loop's (e.g. the refiner); encoded up front. */
    GenerationOptions withExtras(GenerationOptions o) {
        return o;
    }

    /** Other pipelines {@link #prepare()} loaded, whose text encoders are released with the main one's. */
    List<SamplingPipeline> extraPipelines() {
        return List.of();
    }

    /** Extra text entries of the PNGs. */
    Map<String, String> extraText() {
        return Map.of();
    }

    @Override
    public Integer call() throws Exception {
        if (n < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + n);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        }
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException("--config " + config + " does not exist");
        }
        if (!Files.isRegularFile(ckpt)) {
            throw new IllegalArgumentException("--ckpt " + ckpt + " does not exist");
        }
        validateMore();
        int[] size = size();
        if (size != null && (size[0] % 8 != 0 || size[1] % 8 != 0)) {
            throw new IllegalArgumentException("--size " + size[0] + "x" + size[1] + " is not a multiple of 8");
        }
        int tokens = SamplingPipeline.tokenCount(prompt);
        if (tokens > 77) {
            System.err.println("sgm4j " + name() + ": the prompt has " + tokens + " tokens; the text encoders read the"
                    + " first 77 (the rest is ignored, as in the reference)");
        }
        try (SamplingPipeline p = SamplingPipeline.fromConfig(config, ckpt, device);
                NDManager m = NDManager.newBaseManager(io.github.sgm4j.models.EngineLoader.device(device))) {
            GenerationOptions base = GenerationOptions.defaults().withSteps(steps).withGuidanceScale(cfg)
                    .withSampler(sampler).withSize(size == null ? null : size[0], size == null ? null : size[1]);
            String samplerName = p.samplerName(base);
            prepare();
            try {
                // every image uses the same prompt: encode it once, then free the text encoders' weights
                // (SDXL's two towers are 3.3 GB of float32) before the UNet's activations need the room
                p.encodePrompt(prompt, negative, withExtras(base));
                p.releaseTextEncoders();
                for (SamplingPipeline extra : extraPipelines()) {
                    extra.releaseTextEncoders();
                }
                for (int i = 0; i < n; i++) {
                    long s = seed + i;
                    NDArray image;
                    try (ProgressBar pb = new ProgressBarBuilder().setTaskName(name() + " " + (i + 1) + "/" + n)
                            .setStyle(ProgressBarStyle.ASCII).setInitialMax(steps).continuousUpdate().build();
                            NDManager one = m.newSubManager()) {
                        GenerationOptions o = base.withSeed(s).withManager(one).withProgress((step, total) -> {
                            pb.maxHint(total);
                            pb.stepTo(step);
                        });
                        image = generate(p, o, one);
                        Map<String, String> text = new LinkedHashMap<>(PngOutput.parameters(prompt, negative, s, samplerName,
                                steps, cfg, p.modelName()));
                        text.put("size", image.getShape().get(3) + "x" + image.getShape().get(2));
                        text.putAll(extraText());
                        Path file = out.resolve(String.format("%s-s%d-%05d.png", name(), s, i));
                        PngOutput.writeImage(image, 0, file, text);
                        pb.close();
                        System.out.println("wrote " + file);
                    }
                }
            } finally {
                release();
            }
            return 0;
        }
    }

    /** Parses {@code WxH}. */
    static int[] parseSize(String s) {
        List<String> parts = List.of(s.toLowerCase(java.util.Locale.ROOT).split("x", -1));
        if (parts.size() != 2) {
            throw new IllegalArgumentException("--size must be WIDTHxHEIGHT, e.g. 512x512, got '" + s + "'");
        }
        try {
            int w = Integer.parseInt(parts.get(0).trim());
            int h = Integer.parseInt(parts.get(1).trim());
            if (w < 8 || h < 8) {
                throw new IllegalArgumentException("--size must be at least 8x8, got '" + s + "'");
            }
            return new int[] {w, h};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--size must be WIDTHxHEIGHT, e.g. 512x512, got '" + s + "'", e);
        }
    }
}
