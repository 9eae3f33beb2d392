/** Benchmark workloads of {@code bench/WORKLOADS.md} and their JSON-lines runner. */
package io.github.sgm4j.bench;
