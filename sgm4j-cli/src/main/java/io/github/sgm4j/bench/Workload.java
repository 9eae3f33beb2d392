package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;

/**
 * One benchmark workload of {@code docs/benchmarks.md}: built once outside the timed region, then
 * run repeatedly. Implementations have a public no-argument constructor and are listed in {@link
 * BenchMain#WORKLOADS}.
 */
public interface Workload {

    /** The workload name, e.g. {@code vae-decode-256}. */
    String name();

    /** Builds the model and inputs (weights randomly initialised with a fixed seed). */
    void setUp(NDManager manager);

    /** One timed run; intermediate arrays must be released before it returns. */
    void runOnce();

    /** Floating-point operations of one run, for GFLOP/s (0 when unknown). */
    default double flops() {
        return 0;
    }

    /** Suggested warm-up runs. */
    default int warmup() {
        return 2;
    }

    /** Suggested timed runs. */
    default int runs() {
        return 5;
    }
}
