package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.pipeline.GenerationOptions;
import io.github.sgm4j.pipeline.SamplingPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sgm4j txt2img --config CFG --ckpt CKPT --prompt "..." --out DIR}: PNGs from a prompt. */
@Command(name = "txt2img", mixinStandardHelpOptions = true,
        description = "Generate images from a prompt with a Stable Diffusion checkpoint (SD 1.x, 2.x, SDXL).")
final class Txt2ImgCommand extends GenerateCommand {

    @Option(names = "--size", description = "WIDTHxHEIGHT, multiples of 8 (default: the model's, 512/768/1024)")
    String size;

    @Override
    String name() {
        return "txt2img";
    }

    @Override
    void validateMore() {
        if (size != null) {
            parseSize(size);
        }
    }

    @Override
    int[] size() {
        return size == null ? null : parseSize(size);
    }

    @Override
    NDArray generate(SamplingPipeline p, GenerationOptions o, NDManager m) {
        return p.txt2img(prompt, negative, o);
    }
}
