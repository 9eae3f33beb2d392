package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs benchmark workloads and prints one JSON object per line (the format of {@code
 * docs/benchmarks.md}): {@code {"workload": ..., "impl": "sgm4j", "median_ms": ..., "min_ms": ...,
 * "runs": ..., "peak_rss_mb": ...}}.
 *
 * <p>Usage: {@code java -cp ... io.github.sgm4j.bench.BenchMain WORKLOAD[,WORKLOAD...] [--runs N] [--warmup N]}.
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
            "io.github.sgm4j.bench.workloads.TrainVaeStep",
            "io.github.sgm4j.bench.workloads.TrainLdmStep",
            "io.github.sgm4j.bench.workloads.DataThroughputBench",
            "io.github.sgm4j.bench.workloads.TxtToImgSd15Step",
            "io.github.sgm4j.bench.workloads.TextEncoderClipL");

    /** The training step whose time {@link #dataWaitLine} compares with the data rate. */
    public static final String STEP_WORKLOAD = "train-ldm-step";

    /** The data workload whose batch rate {@link #dataWaitLine} compares with the step time. */
    public static final String DATA_WORKLOAD = "data-throughput";

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
     * One workload's timings.
     *
     * @param workload the workload's name
     * @param medianMs median wall time of one run
     * @param minMs fastest run
     * @param runs timed runs
     * @param json the JSON line (without a line terminator)
     * @param extras the workload's further fields ({@link Workload#extras})
     */
    public record Measurement(String workload, double medianMs, double minMs, int runs, String json,
            Map<String, Object> extras) {}

    /**
     * Runs {@code w} and returns its JSON line. Sets the workload up in a new base manager (closed
     * before returning), runs it {@code warmup} times untimed, then {@code runs} times timed, each run
     * in its own {@code NDScope}. The line holds the median and minimum wall time, the process's peak
     * RSS, when {@link Workload#flops()} is known the GFLOP/s at the median, the median CPU time of a
     * run ({@code cpu_ms}, all threads of the process) and the workload's {@link Workload#extras}.
     *
     * @param w the workload, not yet set up
     * @param warmup warm-up runs (not timed), at least 0
     * @param runs timed runs, at least 1
     * @return one JSON object, without a line terminator
     */
    public static String run(Workload w, int warmup, int runs) {
        return measure(w, warmup, runs).json();
    }

    /**
     * As {@link #run}, returning the timings with the line; the workload is closed ({@link
     * Workload#close()}) before returning, also on failure.
     *
     * @param w the workload, not yet set up
     * @param warmup warm-up runs (not timed), at least 0
     * @param runs timed runs, at least 1
     * @return the measurement
     */
    public static Measurement measure(Workload w, int warmup, int runs) {
        try (NDManager m = NDManager.newBaseManager()) {
            try {
                w.setUp(m);
                for (int i = 0; i < warmup; i++) {
                    try (NDScope ignored = new NDScope()) {
                        w.runOnce();
                    }
                }
                double[] ms = new double[runs];
                double[] cpuMs = new double[runs];
                double[] faults = new double[runs];
                for (int i = 0; i < runs; i++) {
                    long f0 = minorFaults();
                    long c0 = processCpuNanos();
                    long t0 = System.nanoTime();
                    try (NDScope ignored = new NDScope()) {
                        w.runOnce();
                    }
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                    cpuMs[i] = (processCpuNanos() - c0) / 1e6;
                    faults[i] = f0 < 0 ? -1 : minorFaults() - f0;
                }
                double[] sorted = ms.clone();
                Arrays.sort(sorted);
                double median = median(ms);
                StringBuilder sb = new StringBuilder();
                sb.append(String.format(Locale.ROOT,
                        "{\"workload\": \"%s\", \"impl\": \"sgm4j\", \"median_ms\": %.1f, \"min_ms\": %.1f, \"runs\": %d, \"peak_rss_mb\": %d",
                        w.name(), median, sorted[0], runs, peakRssMb()));
                if (w.flops() > 0) {
                    sb.append(String.format(Locale.ROOT, ", \"gflops\": %.2f", w.flops() / (median / 1e3) / 1e9));
                }
                if (cpuMs[0] >= 0) {
                    sb.append(String.format(Locale.ROOT, ", \"cpu_ms\": %.1f", median(cpuMs)));
                }
                if (faults[0] >= 0) {
                    sb.append(String.format(Locale.ROOT, ", \"minor_faults\": %.0f", median(faults)));
                }
                sb.append(", \"glibc_malloc\": ").append(jsonString(mallocSettings()));
                Map<String, Object> extras = w.extras(median);
                for (Map.Entry<String, Object> e : extras.entrySet()) {
                    sb.append(", ").append(jsonString(e.getKey())).append(": ").append(jsonValue(e.getValue()));
                }
                return new Measurement(w.name(), median, sorted[0], runs, sb.append('}').toString(), extras);
            } finally {
                w.close();
            }
        }
    }

    /**
     * The derived line of {@code docs/benchmarks.md} when both {@value #STEP_WORKLOAD} and {@value
     * #DATA_WORKLOAD} ran: the data loader needs {@code 1 / batches_per_s} per batch while the step
     * takes {@code step}; with decoding in the background a step waits {@code max(0, data - step)},
     * a fraction {@code max(0, data - step) / max(data, step)} of each training iteration.
     *
     * @param results the measurements of one invocation
     * @return the JSON line, or null unless both workloads are among {@code results}
     */
    public static String dataWaitLine(List<Measurement> results) {
        Measurement step = null;
        Measurement data = null;
        for (Measurement r : results) {
            if (r.workload().equals(STEP_WORKLOAD)) {
                step = r;
            } else if (r.workload().equals(DATA_WORKLOAD)) {
                data = r;
            }
        }
        if (step == null || data == null || !(data.extras().get("batches_per_s") instanceof Number bps)) {
            return null;
        }
        double dataMs = 1e3 / bps.doubleValue();
        double stepMs = step.medianMs();
        return String.format(Locale.ROOT, "{\"data_wait_fraction\": %.4f, \"step_ms\": %.1f, \"data_ms_per_batch\": %.1f}",
                Math.max(0, dataMs - stepMs) / Math.max(dataMs, stepMs), stepMs, dataMs);
    }

    /**
     * The workloads of a name list: {@code all}, or names separated by commas.
     *
     * @param names e.g. {@code train-ldm-step,data-throughput}
     * @return new instances, in the order given
     * @throws IllegalArgumentException for an unknown name
     */
    public static List<Workload> select(String names) {
        if (names.equals("all")) {
            return available();
        }
        List<Workload> out = new ArrayList<>();
        for (String n : names.split(",")) {
            out.add(find(n.trim()));
        }
        return out;
    }

    private static String jsonValue(Object v) {
        if (v instanceof Double || v instanceof Float) {
            return String.format(Locale.ROOT, "%.3f", ((Number) v).doubleValue());
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        return jsonString(String.valueOf(v));
    }

    private static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /**
     * CPU time of this process so far, all threads (JVM and libtorch), for the {@code cpu_ms} field:
     * on a shared machine the wall time of a run grows with the other processes' load, its CPU
     * time much less.
     *
     * @return nanoseconds, or -1 when the JVM does not report it
     */
    public static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** The median of {@code values} (the mean of the middle two for an even count); the array is not changed. */
    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /**
     * Minor page faults of this process so far ({@code minflt} of {@code /proc/self/stat}), for the
     * {@code minor_faults} field: each is the kernel handing the process a fresh page, and a run that
     * takes its buffers from memory the allocator had returned to the system pays one per 4 KiB page
     * it writes (issue 15: the glibc settings the launcher exports remove most of them).
     *
     * @return the count, or -1 off Linux or when it cannot be read
     */
    public static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // fields after the parenthesised command name: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The glibc allocator variables {@link #mallocSettings} reports, in its order: the launcher's
     * three and the opt-in {@code MALLOC_MMAP_MAX_} (README, "Performance settings").
     */
    public static final List<String> MALLOC_VARIABLES =
            List.of("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_");

    /**
     * The glibc allocator settings this process was started with, for the {@code glibc_malloc}
     * field: the launcher's {@code MALLOC_ARENA_MAX}, {@code MALLOC_MMAP_THRESHOLD_} and {@code
     * MALLOC_TRIM_THRESHOLD_}, and the opt-in {@code MALLOC_MMAP_MAX_} (README, "Performance settings"),
     * or {@code "default"} when none is set.
     *
     * @return the settings as {@code NAME=VALUE} separated by spaces, or {@code "default"}
     */
    public static String mallocSettings() {
        StringBuilder sb = new StringBuilder();
        for (String name : MALLOC_VARIABLES) {
            String v = System.getenv(name);
            if (v != null) {
                sb.append(sb.length() == 0 ? "" : " ").append(name).append('=').append(v);
            }
        }
        return sb.length() == 0 ? "default" : sb.toString();
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
     * Entry point: {@code BenchMain NAME[,NAME...] [--runs N] [--warmup N]}; {@code all} runs every
     * workload.
     * Prints the engine start-up time to standard error and one JSON line per workload to standard
     * output; exits with status 2 without arguments.
     *
     * @param args the workload names, separated by commas (or {@code all}), then optional {@code --runs N} and {@code
     *     --warmup N} (defaults: the workload's)
     * @throws IllegalArgumentException on an unknown option or workload name
     * @throws NumberFormatException when an option value is not an integer
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        if (args.length == 0) {
            System.err.println("usage: BenchMain WORKLOAD[,WORKLOAD...]|all [--runs N] [--warmup N]");
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
        List<Measurement> results = new ArrayList<>();
        for (Workload w : select(name)) {
            Measurement r = measure(w, warmup != null ? warmup : w.warmup(), runs != null ? runs : w.runs());
            System.out.println(r.json());
            results.add(r);
        }
        String wait = dataWaitLine(results);
        if (wait != null) {
            System.out.println(wait);
        }
    }
}
