/** The {@code sgm4j} command-line tool (picocli): train, sample, reconstruct, inspect, bench. */
package io.github.sgm4j.cli;
