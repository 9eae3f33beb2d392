package io.github.sgm4j.cli;

import io.github.sgm4j.bench.BenchMain;
import io.github.sgm4j.bench.Workload;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sgm4j bench --workload NAME}: times a workload of docs/benchmarks.md, prints JSON lines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time a benchmark workload; prints one JSON object per line.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--workload", required = true,
            description = "workload name (sgemm-2048, unet-mnist-fwd, unet-sd15-fwd, vae-decode-256, vae-encode-256, "
                    + "train-mnist-step, sample-mnist, train-vae-step, unet-mnist-fwd-b16, unet-mnist-fwd-b32, unet-sd15-fwd-512) or 'all'")
    String workload;

    @Option(names = "--runs", description = "timed runs (default: the workload's)")
    Integer runs;

    @Option(names = "--warmup", description = "warm-up runs (default: the workload's)")
    Integer warmup;

    @Spec
    CommandSpec spec;

    /**
     * Runs the workload (or all of them) and prints one JSON line each to standard output.
     *
     * @return 0
     * @throws picocli.CommandLine.ParameterException on an unknown workload or an invalid count
     */
    @Override
    public Integer call() {
        Validate.positive(spec, "--runs", runs);
        Validate.nonNegative(spec, "--warmup", warmup);
        if (!workload.equals("all")) {
            try {
                BenchMain.find(workload);
            } catch (RuntimeException e) {
                throw Validate.bad(spec, "--workload: " + e.getMessage());
            }
        }
        List<Workload> ws = workload.equals("all") ? BenchMain.available() : List.of(BenchMain.find(workload));
        for (Workload w : ws) {
            System.out.println(BenchMain.run(w, warmup != null ? warmup : w.warmup(), runs != null ? runs : w.runs()));
        }
        return 0;
    }
}
