/** Benchmark workloads of {@code docs/benchmarks.md} and their JSON-lines runner. */
package io.github.sgm4j.bench;
