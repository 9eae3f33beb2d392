/** Ports of {@code sgm.models}: the DiffusionEngine facade and the first-stage autoencoders. */
package io.github.sgm4j.models;
