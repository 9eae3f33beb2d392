package io.github.sgm4j.cli;

import io.github.sgm4j.bench.BenchMain;
import io.github.sgm4j.bench.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sgm4j bench --workload NAME[,NAME...]}: times workloads of docs/benchmarks.md, prints JSON lines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time a benchmark workload; prints one JSON object per line.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--workload", required = true,
            description = "workload name (sgemm-2048, unet-mnist-fwd, unet-sd15-fwd, vae-decode-256, vae-encode-256, "
                    + "train-mnist-step, sample-mnist, train-vae-step, unet-mnist-fwd-b16, unet-mnist-fwd-b32, unet-sd15-fwd-512, "
                    + "train-ldm-step, data-throughput), several separated by commas, or 'all'; with both train-ldm-step "
                    + "and data-throughput a last line gives the fraction of a step spent waiting for data")
    String workload;

    @Option(names = "--runs", description = "timed runs (default: the workload's)")
    Integer runs;

    @Option(names = "--warmup", description = "warm-up runs (default: the workload's)")
    Integer warmup;

    @Spec
    CommandSpec spec;

    /**
     * Runs the workloads (or all of them) and prints one JSON line each to standard output, then the
     * data-wait line when both {@code train-ldm-step} and {@code data-throughput} ran.
     *
     * @return 0
     * @throws picocli.CommandLine.ParameterException on an unknown workload or an invalid count
     */
    @Override
    public Integer call() {
        Validate.positive(spec, "--runs", runs);
        Validate.nonNegative(spec, "--warmup", warmup);
        List<Workload> ws;
        try {
            ws = BenchMain.select(workload);
        } catch (RuntimeException e) {
            throw Validate.bad(spec, "--workload: " + e.getMessage());
        }
        List<BenchMain.Measurement> results = new ArrayList<>();
        for (Workload w : ws) {
            BenchMain.Measurement r = BenchMain.measure(w, warmup != null ? warmup : w.warmup(),
                    runs != null ? runs : w.runs());
            System.out.println(r.json());
            results.add(r);
        }
        String wait = BenchMain.dataWaitLine(results);
        if (wait != null) {
            System.out.println(wait);
        }
        return 0;
    }
}
