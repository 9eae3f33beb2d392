package io.github.sgm4j.cli;

import io.github.sgm4j.io.StateDictFile;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.io.TensorInfo;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.pipeline.SingleFileCheckpoint;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Parameters;

/**
 * {@code sgm4j inspect CKPT [--config CONFIG]}: lists a checkpoint's keys, shapes and dtypes; with a
 * config, what a single-file load ({@link SingleFileCheckpoint}) would do with it.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List a checkpoint's keys, shapes and dtypes (.safetensors, or a PyTorch .ckpt/.pth read without"
                + " executing code).")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "checkpoint (.safetensors, .ckpt or .pth)")
    Path checkpoint;

    @Option(names = "--prefix", description = "only keys starting with this prefix")
    String prefix = "";

    @Option(names = "--config", description = "compare with the model of this config as a single-file load would:"
            + " missing, unexpected and shape-mismatched keys, keys not loaded or derived from the config, tensors"
            + " converted (fp16/bf16 to float32)")
    Path config;

    @Spec
    CommandSpec spec;

    /**
     * The comparison with the config: a summary, then one tab-separated line per key of each kind
     * ({@code missing}, {@code unexpected}, {@code shape}, {@code dropped}, {@code derived}, {@code
     * converted}), then the verdict.
     */
    private void report(SingleFileCheckpoint.Inspection r) {
        System.out.println("against " + config + ": the checkpoint holds " + r.checkpointFamily().label()
                + " weights, the config builds " + r.modelFamily().label());
        Map<String, Integer> byType = new TreeMap<>();
        r.converted().values().forEach(c -> byType.merge(c, 1, Integer::sum));
        System.out.printf("loaded %d tensor(s)%s; converted to the model's dtype as they load: %d%s%n", r.loaded().size(),
                r.remapped() == 0 ? "" : " (" + r.remapped() + " renamed cond_stage_model.* -> conditioner.embedders.0.*)",
                r.converted().size(), byType.isEmpty() ? "" : " " + byType);
        System.out.printf("missing %d, unexpected %d, shape mismatches %d; not loaded (derived from the config, EMA"
                + " shadows): %d; kept at config values or filled: %d%n", r.missing().size(), r.unexpected().size(),
                r.shapeMismatches().size(), r.dropped().size(), r.derived().size());
        r.missing().forEach(k -> System.out.println("missing\t" + k));
        r.unexpected().forEach(k -> System.out.println("unexpected\t" + k));
        r.shapeMismatches().forEach(k -> System.out.println("shape\t" + k));
        r.dropped().forEach(k -> System.out.println("dropped\t" + k));
        r.derived().forEach(k -> System.out.println("derived\t" + k));
        r.converted().forEach((k, c) -> System.out.println("converted\t" + k + "\t" + c));
        if (r.loads()) {
            System.out.println("result: loads strictly into the config's model");
        } else if (!r.familiesFit()) {
            System.out.println("result: does not load: " + r.checkpointFamily().label() + " weights need "
                    + r.checkpointFamily().config());
        } else {
            System.out.println("result: does not load (missing, unexpected or mismatched keys above)");
        }
    }

    /**
     * Prints one tab-separated line per tensor ({@code key, shape, dtype}), the totals and the
     * metadata; with {@code --config}, also the comparison with the config's state dict.
     *
     * @return 0, or 3 when {@code --config} is given and the checkpoint would not load into its model
     *     ({@link SingleFileCheckpoint#load}: another family, missing, unexpected or mismatched keys)
     * @throws picocli.CommandLine.ParameterException when a file does not exist or is not readable
     */
    @Override
    public Integer call() {
        Validate.file(spec, "CKPT", checkpoint);
        Validate.file(spec, "--config", config);
        long total = 0;
        int n = 0;
        try (StateDictFile f = StateDicts.open(checkpoint)) {
            for (String key : f.keys()) {
                if (!key.startsWith(prefix)) {
                    continue;
                }
                TensorInfo info = f.info(key);
                long numel = Arrays.stream(info.shape()).reduce(1, (a, b) -> a * b);
                total += numel;
                n++;
                System.out.println(key + "\t" + Arrays.toString(info.shape()) + "\t" + info.dtype());
            }
            System.out.printf("%d tensors, %,d values%n", n, total);
            if (!f.metadata().isEmpty()) {
                System.out.println("metadata: " + f.metadata());
            }
            if (config != null) {
                Module model = new Instantiator().instantiate(EngineLoader.modelNode(EngineLoader.config(config)),
                        Module.class);
                SingleFileCheckpoint.Inspection r = SingleFileCheckpoint.inspect(f, model.stateDictSpec());
                report(r);
                return r.loads() ? 0 : 3;
            }
        }
        return 0;
    }
}
