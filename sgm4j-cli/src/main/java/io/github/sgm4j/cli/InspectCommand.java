package io.github.sgm4j.cli;

import io.github.sgm4j.io.StateDictFile;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.io.TensorInfo;
import io.github.sgm4j.models.EngineLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Parameters;

/** {@code sgm4j inspect CKPT}: lists a checkpoint's keys, shapes and dtypes. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List a checkpoint's keys, shapes and dtypes (.safetensors, or a PyTorch .ckpt/.pth read without"
                + " executing code).")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "checkpoint (.safetensors, .ckpt or .pth)")
    Path checkpoint;

    @Option(names = "--prefix", description = "only keys starting with this prefix")
    String prefix = "";

    @Option(names = "--config", description = "compare with the state dict of this config's model: missing, unexpected and"
            + " shape-mismatched keys")
    Path config;

    @Spec
    CommandSpec spec;

    /**
     * Prints one tab-separated line per tensor ({@code key, shape, dtype}), the totals and the
     * metadata; with {@code --config}, also the comparison with the config's state dict.
     *
     * @return 0, or 3 when {@code --config} is given and the keys or shapes differ
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
                io.github.sgm4j.nn.Module model = new io.github.sgm4j.config.Instantiator().instantiate(
                        EngineLoader.modelNode(EngineLoader.config(config)), io.github.sgm4j.nn.Module.class);
                java.util.Map<String, io.github.sgm4j.nn.TensorSpec> expected = new java.util.LinkedHashMap<>();
                for (io.github.sgm4j.nn.TensorSpec s : model.stateDictSpec()) {
                    expected.put(s.key(), s);
                }
                java.util.List<String> missing = new java.util.ArrayList<>();
                java.util.List<String> mismatched = new java.util.ArrayList<>();
                for (io.github.sgm4j.nn.TensorSpec s : expected.values()) {
                    if (!f.contains(s.key())) {
                        missing.add(s.key());
                    } else if (!java.util.Arrays.equals(f.info(s.key()).shape(), s.shape().getShape())) {
                        mismatched.add(s.key() + ": config " + s.shape() + ", checkpoint " + Arrays.toString(f.info(s.key()).shape()));
                    }
                }
                java.util.List<String> unexpected = f.keys().stream().filter(k -> !expected.containsKey(k)).toList();
                io.github.sgm4j.nn.LoadResult r = new io.github.sgm4j.nn.LoadResult(missing, unexpected, mismatched);
                System.out.println("against " + config + ": " + r.describe());
                return r.isClean() ? 0 : 3;
            }
        }
        return 0;
    }
}
