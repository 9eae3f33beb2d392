package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Runs benchmark workloads and prints one JSON object per line (the format of {@code
 * docs/benchmarks.md}): {@code {"workload": ..., "impl": "sgm4j", "median_ms": ..., "min_ms": ...,
 * "runs": ..., "peak_rss_mb": ...}}.
 *
 * <p>Usage: {@code java -cp ... io.github.sgm4j.bench.BenchMain WORKLOAD [--runs N] [--warmup N]}.
 */
public final class BenchMain {

    /** Workload classes by name (fully qualified), instantiated reflectively on demand. */
    public static final List<String> WORKLOADS = List.of(
            "io.github.sgm4j.bench.workloads.Sgemm2048",
            "io.github.sgm4j.bench.workloads.UnetMnistFwd",
            "io.github.sgm4j.bench.workloads.UnetMnistFwdB16",
            "io.github.sgm4j.bench.workloads.UnetMnistFwdB32",
            "io.github.sgm4j.bench.workloads.UnetSd15Fwd",
            "io.github.sgm4j.bench.workloads.UnetSd15Fwd512",
            "io.github.sgm4j.bench.workloads.VaeDecode256",
            "io.github.sgm4j.bench.workloads.VaeEncode256",
            "io.github.sgm4j.bench.workloads.TrainMnistStep",
            "io.github.sgm4j.bench.workloads.SampleMnist",
            "io.github.sgm4j.bench.workloads.TrainVaeStep");

    private BenchMain() {}

    /**
     * The available workloads: a new instance of every class of {@link #WORKLOADS} present in this
     * build, in that order (not yet set up).
     *
     * @return a new mutable list
     * @throws IllegalStateException when a listed class is present but cannot be instantiated
     */
    public static List<Workload> available() {
        List<Workload> out = new ArrayList<>();
        for (String cn : WORKLOADS) {
            try {
                out.add((Workload) Class.forName(cn).getDeclaredConstructor().newInstance());
            } catch (ClassNotFoundException e) {
                // workload not part of this build
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot create workload " + cn, e);
            }
        }
        return out;
    }

    /**
     * Finds a workload by name.
     *
     * @param name the workload name ({@link Workload#name()})
     * @return a new instance of the workload (not yet set up)
     * @throws IllegalArgumentException when no available workload has that name (the message lists
     *     the available names)
     */
    public static Workload find(String name) {
        List<String> names = new ArrayList<>();
        for (Workload w : available()) {
            if (w.name().equals(name)) {
                return w;
            }
            names.add(w.name());
        }
        throw new IllegalArgumentException("unknown workload '" + name + "'; available: " + names);
    }

    /**
     * Runs {@code w} and returns its JSON line. Sets the workload up in a new base manager (closed
     * before returning), runs it {@code warmup} times untimed, then {@code runs} times timed, each run
     * in its own {@code NDScope}. The line holds the median and minimum wall time, the process's peak
     * RSS and, when {@link Workload#flops()} is known, the GFLOP/s at the median.
     *
     * @param w the workload, not yet set up
     * @param warmup warm-up runs (not timed), at least 0
     * @param runs timed runs, at least 1
     * @return one JSON object, without a line terminator
     */
    public static String run(Workload w, int warmup, int runs) {
        try (NDManager m = NDManager.newBaseManager()) {
            w.setUp(m);
            for (int i = 0; i < warmup; i++) {
                try (NDScope ignored = new NDScope()) {
                    w.runOnce();
                }
            }
            double[] ms = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                try (NDScope ignored = new NDScope()) {
                    w.runOnce();
                }
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = runs % 2 == 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT,
                    "{\"workload\": \"%s\", \"impl\": \"sgm4j\", \"median_ms\": %.1f, \"min_ms\": %.1f, \"runs\": %d, \"peak_rss_mb\": %d",
                    w.name(), median, sorted[0], runs, peakRssMb()));
            if (w.flops() > 0) {
                sb.append(String.format(Locale.ROOT, ", \"gflops\": %.2f", w.flops() / (median / 1e3) / 1e9));
            }
            return sb.append('}').toString();
        }
    }

    /**
     * Peak resident set size of this process ({@code VmHWM} of {@code /proc/self/status}).
     *
     * @return the peak in MiB, or -1 off Linux or when it cannot be read
     */
    public static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String kb = line.replaceAll("[^0-9]", "");
                    return Long.parseLong(kb) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Entry point: {@code BenchMain NAME [--runs N] [--warmup N]}; {@code all} runs every workload.
     * Prints the engine start-up time to standard error and one JSON line per workload to standard
     * output; exits with status 2 without arguments.
     *
     * @param args the workload name (or {@code all}), then optional {@code --runs N} and {@code
     *     --warmup N} (defaults: the workload's)
     * @throws IllegalArgumentException on an unknown option or workload name
     * @throws NumberFormatException when an option value is not an integer
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        if (args.length == 0) {
            System.err.println("usage: BenchMain WORKLOAD|all [--runs N] [--warmup N]");
            System.exit(2);
        }
        String name = args[0];
        Integer runs = null;
        Integer warmup = null;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        try (NDManager m = NDManager.newBaseManager()) {
            m.ones(new ai.djl.ndarray.types.Shape(2)).sum().getFloat();
        }
        System.err.printf(Locale.ROOT, "engine start-up: %.0f ms (first NDArray op in this JVM)%n", (System.nanoTime() - t0) / 1e6);
        List<Workload> ws = name.equals("all") ? available() : List.of(find(name));
        for (Workload w : ws) {
            System.out.println(run(w, warmup != null ? warmup : w.warmup(), runs != null ? runs : w.runs()));
        }
    }
}
