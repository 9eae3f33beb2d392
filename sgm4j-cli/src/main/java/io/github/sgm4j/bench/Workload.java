package io.github.sgm4j.bench;

import ai.djl.ndarray.NDManager;
import java.util.Map;

/**
 * One benchmark workload of {@code docs/benchmarks.md}: built once outside the timed region, then
 * run repeatedly. Implementations have a public no-argument constructor and are listed in {@link
 * BenchMain#WORKLOADS}. An instance is used by one thread, for one {@link BenchMain#run} call.
 */
public interface Workload {

    /**
     * The workload name, as accepted by {@link BenchMain#find} and {@code sgm4j bench --workload}.
     *
     * @return the name, e.g. {@code vae-decode-256}
     */
    String name();

    /**
     * Builds the model and inputs (weights randomly initialised with a fixed seed), outside the timed
     * region. Called once, before any {@link #runOnce()}.
     *
     * @param manager owns every array the workload keeps; the caller closes it after the last run
     */
    void setUp(NDManager manager);

    /**
     * One timed run; intermediate arrays must be released before it returns (the runner also wraps
     * every call in an {@code NDScope}).
     */
    void runOnce();

    /**
     * Floating-point operations of one run, for GFLOP/s.
     *
     * @return the operation count of one {@link #runOnce()}, or 0 when unknown (the default)
     */
    default double flops() {
        return 0;
    }

    /**
     * Suggested warm-up runs (untimed), used when no {@code --warmup} is given.
     *
     * @return the number of warm-up runs; 2 by default
     */
    default int warmup() {
        return 2;
    }

    /**
     * Suggested timed runs, used when no {@code --runs} is given.
     *
     * @return the number of timed runs; 5 by default
     */
    default int runs() {
        return 5;
    }

    /**
     * Further fields for the JSON line, after the timings (e.g. images per second).
     *
     * @param medianMs the median time of one run, in milliseconds
     * @return field values by name (numbers or strings), in output order; empty by default
     */
    default Map<String, Object> extras(double medianMs) {
        return Map.of();
    }

    /** Releases what {@link #setUp} started besides arrays (e.g. threads); called once after the last run. */
    default void close() {}
}
