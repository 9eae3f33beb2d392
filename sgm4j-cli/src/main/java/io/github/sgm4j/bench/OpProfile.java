package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Locale;

/**
 * Records libtorch's own profiler over runs of one benchmark workload (issue 15): {@code OpProfile
 * WORKLOAD OUT.json [--runs N] [--warmup N]} sets the workload up, runs the warm-up runs
 * unprofiled, then records {@code N} runs (default 1) with libtorch's legacy CPU profiler (through
 * DJL's {@code JniUtils.startProfile}) and writes its Chrome-trace JSON to {@code OUT.json}. Every
 * native op libtorch dispatches appears in the trace with its inclusive time and input shapes;
 * {@code docs/profiles/op_table.py} turns one or two traces into the per-op tables of
 * {@code docs/benchmarks.md} (op count, self time, share).
 */
public final class OpProfile {

    private OpProfile() {}

    /**
     * Entry point.
     *
     * @param args workload name, output path, then optional {@code --runs N} and {@code --warmup N}
     * @throws IllegalArgumentException on an unknown option or workload name
     * @throws NumberFormatException when an option value is not an integer
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        if (args.length < 2) {
            System.err.println("usage: OpProfile WORKLOAD OUT.json [--runs N] [--warmup N]");
            System.exit(2);
        }
        Workload w = BenchMain.find(args[0]);
        String out = args[1];
        int runs = 1;
        int warmup = w.warmup();
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            w.setUp(m);
            for (int i = 0; i < warmup; i++) {
                try (NDScope ignored = new NDScope()) {
                    w.runOnce();
                }
            }
            long t0 = System.nanoTime();
            JniUtils.startProfile(false, true, false);
            try {
                for (int i = 0; i < runs; i++) {
                    try (NDScope ignored = new NDScope()) {
                        w.runOnce();
                    }
                }
            } finally {
                JniUtils.stopProfile(out);
            }
            System.err.printf(Locale.ROOT, "%s: %d profiled run(s), %.1f ms wall in total; trace %s%n",
                    w.name(), runs, (System.nanoTime() - t0) / 1e6, out);
        }
    }
}
