package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.pipeline.GenerationOptions;
import io.github.sgm4j.pipeline.SamplingPipeline;
import io.github.sgm4j.train.ImageGrid;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sgm4j img2img --init IMG --strength S ...}: PNGs from an image and a prompt. */
@Command(name = "img2img", mixinStandardHelpOptions = true,
        description = "Re-generate an image from a prompt (SD 1.x with DDIM as ldm's img2img.py, SD 2.x and SDXL as"
                + " sgm's do_img2img); higher --strength changes more.")
final class Img2ImgCommand extends GenerateCommand {

    @Option(names = "--init", required = true, description = "the initial image (PNG/JPEG, RGB; sides multiples of 8)")
    Path init;

    @Option(names = "--strength", defaultValue = "0.75", description = "in [0, 1]: how much of the schedule runs"
            + " (default: ${DEFAULT-VALUE})")
    double strength;

    private float[] pixels;
    private int[] chw;

    @Override
    String name() {
        return "img2img";
    }

    @Override
    void validateMore() {
        if (!(strength >= 0 && strength <= 1)) {
            throw new IllegalArgumentException("--strength must be in [0, 1], got " + strength);
        }
        if (!Files.isRegularFile(init)) {
            throw new IllegalArgumentException("--init " + init + " does not exist");
        }
        chw = new int[3];
        pixels = ImageGrid.readPng(init, chw)[0];
        if (chw[0] != 3) {
            throw new IllegalArgumentException("--init " + init + " must be an RGB image, got " + chw[0] + " channel(s)");
        }
    }

    @Override
    int[] size() {
        return new int[] {chw[2], chw[1]};
    }

    @Override
    NDArray generate(SamplingPipeline p, GenerationOptions o, NDManager m) {
        NDArray x = Tensors.create(m, pixels, new Shape(1, 3, chw[1], chw[2]));
        return p.img2img(x, prompt, negative, o.withStrength(strength));
    }

    @Override
    Map<String, String> extraText() {
        return Map.of("init", init.getFileName().toString(), "strength", Double.toString(strength));
    }
}
