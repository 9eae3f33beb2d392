/** The benchmark workloads, one class each. */
package io.github.sgm4j.bench.workloads;
