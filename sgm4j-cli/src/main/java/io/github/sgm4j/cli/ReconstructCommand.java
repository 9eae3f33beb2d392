package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.models.FirstStage;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.ImageGrid;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Parameters;

/**
 * {@code sgm4j reconstruct CONFIG --ckpt CKPT IN.png OUT.png}: the first-stage round trip (encode,
 * decode) of an image, with a DiffusionEngine config (its first stage) or an autoencoder config.
 */
@Command(name = "reconstruct", mixinStandardHelpOptions = true,
        description = "Encode and decode an image with a config's first stage (autoencoder round trip).")
final class ReconstructCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "config (a DiffusionEngine or an autoencoder at 'model')")
    Path config;

    @Parameters(index = "1", arity = "0..1", description = "input image (PNG); omit with --mnist")
    Path in;

    @Parameters(index = "2", arity = "0..1", description = "output image (PNG); omit with --mnist")
    Path out;

    @Option(names = "--ckpt", required = true, description = "checkpoint (.safetensors, or a PyTorch .ckpt/.pth)")
    Path ckpt;

    @Option(names = "--mnist", description = "evaluate on the MNIST test set in this IDX directory (held-out digits,"
            + " padded to the autoencoder's resolution): mean PSNR and SSIM of the reconstructions")
    Path mnist;

    @Option(names = "--count", defaultValue = "10000", description = "with --mnist: number of test images (default: ${DEFAULT-VALUE})")
    int count;

    @Option(names = "--grid", description = "with --mnist: write the first 16 inputs over their reconstructions to this PNG")
    Path grid;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the posterior sample (default: ${DEFAULT-VALUE})")
    long seed;

    @Spec
    CommandSpec spec;

    /**
     * Loads the model and checkpoint, encodes and decodes the input image and writes the output PNG.
     *
     * @return 0
     * @throws picocli.CommandLine.ParameterException when an input is missing or the output cannot
     *     be written
     * @throws IllegalArgumentException when the config's model has no first stage
     */
    @Override
    public Integer call() {
        Validate.file(spec, "CONFIG", config);
        Validate.file(spec, "--ckpt", ckpt);
        Validate.device(spec, "--device", device);
        if (mnist != null) {
            if (in != null) {
                throw Validate.bad(spec, "give either IN OUT or --mnist DIR, not both");
            }
            Validate.directory(spec, "--mnist", mnist);
            Validate.positive(spec, "--count", count);
            if (grid != null) {
                Validate.outputFile(spec, "--grid", grid);
            }
            return ReconstructionEval.run(this);
        }
        if (in == null || out == null) {
            throw Validate.bad(spec, "give IN and OUT images, or --mnist DIR to evaluate on the MNIST test set");
        }
        Validate.file(spec, "IN", in);
        Validate.outputFile(spec, "OUT", out);
        ConfigNode root = EngineLoader.config(config);
        int[] chw = new int[3];
        float[] pixels = ImageGrid.readPng(in, chw)[0];
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
            Module model = new Instantiator().instantiate(EngineLoader.modelNode(root), Module.class);
            model.initialize(manager, new TorchNoiseSource(seed));
            NDArray x = Tensors.create(manager, pixels, new Shape(1, chw[0], chw[1], chw[2]));
            NDArray rec;
            TorchNoiseSource noise = new TorchNoiseSource(seed);
            if (model instanceof DiffusionEngine engine) {
                Checkpoints.loadWeights(ckpt, engine, false);
                rec = engine.decode(engine.encode(x, noise));
            } else if (model instanceof io.github.sgm4j.models.AutoencoderKL ae) {
                ae.loadInferenceWeights(StateDicts.readAll(ckpt, manager));
                rec = ae.decode(ae.encode(x, noise));
            } else if (model instanceof FirstStage fs) {
                model.loadStateDict(StateDicts.readAll(ckpt, manager), true);
                rec = fs.decode(fs.encode(x, noise));
            } else {
                throw new IllegalArgumentException(config + ": model " + model.getClass().getSimpleName()
                        + " has no first stage to encode/decode with");
            }
            ImageGrid.writePng(rec, 1, out);
            System.err.println("wrote " + out);
            return 0;
        }
    }
}
