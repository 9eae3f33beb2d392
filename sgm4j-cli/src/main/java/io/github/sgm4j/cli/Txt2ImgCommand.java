package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.pipeline.GenerationOptions;
import io.github.sgm4j.pipeline.SamplingPipeline;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sgm4j txt2img --config CFG --ckpt CKPT --prompt "..." --out DIR}: PNGs from a prompt. */
@Command(name = "txt2img", mixinStandardHelpOptions = true,
        description = "Generate images from a prompt with a Stable Diffusion checkpoint (SD 1.x, 2.x, SDXL).")
final class Txt2ImgCommand extends GenerateCommand {

    @Option(names = "--size", description = "WIDTHxHEIGHT, multiples of 8 (default: the model's, 512/768/1024)")
    String size;

    @Option(names = "--refiner-config", description = "SDXL refiner config (sd_xl_refiner.yaml), run on the base's latents")
    Path refinerConfig;

    @Option(names = "--refiner-ckpt", description = "SDXL refiner checkpoint (with --refiner-config)")
    Path refinerCkpt;

    @Option(names = "--refiner-strength", defaultValue = "0.15", description = "the refiner's img2img strength"
            + " (default: ${DEFAULT-VALUE})")
    double refinerStrength;

    private SamplingPipeline refiner;

    @Override
    String name() {
        return "txt2img";
    }

    @Override
    void validateMore() {
        if (size != null) {
            parseSize(size);
        }
        if ((refinerConfig == null) != (refinerCkpt == null)) {
            throw new IllegalArgumentException("--refiner-config and --refiner-ckpt go together");
        }
        if (!(refinerStrength >= 0 && refinerStrength <= 1)) {
            throw new IllegalArgumentException("--refiner-strength must be in [0, 1], got " + refinerStrength);
        }
    }

    @Override
    void prepare() {
        if (refinerConfig != null) {
            refiner = SamplingPipeline.fromConfig(refinerConfig, refinerCkpt, device);
        }
    }

    @Override
    void release() {
        if (refiner != null) {
            refiner.close();
            refiner = null;
        }
    }

    @Override
    java.util.Map<String, String> extraText() {
        return refiner == null ? java.util.Map.of() : java.util.Map.of("refiner", refiner.modelName(),
                "refiner_strength", Double.toString(refinerStrength));
    }

    @Override
    int[] size() {
        return size == null ? null : parseSize(size);
    }

    @Override
    GenerationOptions withExtras(GenerationOptions o) {
        return refiner == null ? o : o.withRefiner(refiner, refinerStrength);
    }

    @Override
    java.util.List<SamplingPipeline> extraPipelines() {
        return refiner == null ? java.util.List.of() : java.util.List.of(refiner);
    }

    @Override
    NDArray generate(SamplingPipeline p, GenerationOptions o, NDManager m) {
        return p.txt2img(prompt, negative, withExtras(o));
    }
}
