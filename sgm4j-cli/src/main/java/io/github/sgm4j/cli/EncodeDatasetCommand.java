package io.github.sgm4j.cli;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.LatentCache;
import io.github.sgm4j.train.data.Datasets;
import java.nio.file.Path;
import java.util.Arrays;
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
 * {@code sgm4j encode-dataset CONFIG --out DIR}: encodes the config's data once with its frozen
 * first stage ({@link LatentCache}) and reports the latents' standard deviation, so a latent model
 * trains from {@code data: target: sgm4j.data.CachedLatents} without running the encoder per step.
 */
@Command(name = "encode-dataset", mixinStandardHelpOptions = true,
        description = "Encode a DiffusionEngine config's data with its first stage (posterior mean and std) into"
                + " latents-NNNNN.safetensors shards, for training from cached latents; prints the latents' std and"
                + " the scale_factor that gives them unit variance.")
final class EncodeDatasetCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "DiffusionEngine config (sgm YAML) with a KL first stage and a data section")
    Path config;

    @Option(names = "--out", required = true, description = "output directory of the shards")
    Path out;

    @Option(names = "--ckpt", description = "engine checkpoint whose first_stage_model.* weights to use (default: the"
            + " first stage's own ckpt_path)")
    Path ckpt;

    @Option(names = "--data", defaultValue = "data/mnist", description = "MNIST IDX directory, for MNIST data targets"
            + " (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--batch-size", defaultValue = "64", description = "images encoded at a time (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--shard-size", defaultValue = "10000", description = "images per shard file, rounded up to whole batches (default: ${DEFAULT-VALUE})")
    int shardSize;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Spec
    CommandSpec spec;

    /**
     * Validates the options, loads the engine and the data, writes the shards with a progress bar and
     * prints what was written.
     *
     * @return 0
     * @throws picocli.CommandLine.ParameterException when an option is invalid
     */
    @Override
    public Integer call() {
        Validate.file(spec, "CONFIG", config);
        Validate.positive(spec, "--batch-size", (long) batchSize);
        Validate.positive(spec, "--shard-size", (long) shardSize);
        Validate.device(spec, "--device", device);
        if (ckpt != null) {
            Validate.file(spec, "--ckpt", ckpt);
        }
        Validate.outputDirectory(spec, "--out", out);
        ConfigNode root = EngineLoader.config(config);
        Datasets.Spec ds = TrainCommand.dataSpec(spec, config, root, null, data);
        long size = ds.dataset().size();
        System.err.printf(Locale.ROOT, "data: %s%n", ds.dataset().description());
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(device))) {
            DiffusionEngine engine = EngineLoader.load(root, manager, 0L);
            if (ckpt != null) {
                Checkpoints.loadWeights(ckpt, engine, false);
            }
            LatentCache.Result r;
            try (ProgressBar pb = new ProgressBarBuilder().setTaskName("encode").setInitialMax(Math.max(size, 0))
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" images", 1).showSpeed().continuousUpdate().build()) {
                r = LatentCache.write(engine, ds.dataset(), ds.options(), batchSize, shardSize, out, pb::stepTo);
            }
            System.out.printf(Locale.ROOT, "encoded %d images into %d shard(s) in %s: latents %s, std %.5f ->"
                    + " scale_factor %.5f for unit variance (the config has %s)%s%n", r.count(), r.shards(), out,
                    Arrays.toString(r.latentShape()), r.latentStd(), r.suggestedScaleFactor(),
                    engine.getParams().scaleFactor(),
                    r.skippedFiles() > 0 ? "; skipped " + r.skippedFiles() + " bad files" : "");
            return 0;
        }
    }
}
