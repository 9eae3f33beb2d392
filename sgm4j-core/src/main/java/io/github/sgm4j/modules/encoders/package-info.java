/**
 * Ports of {@code sgm.modules.encoders.modules}: the {@link
 * io.github.sgm4j.modules.encoders.GeneralConditioner} that turns a batch into the {@code vector} /
 * {@code crossattn} / {@code concat} conditioning, and its embedders (class labels, SDXL size and
 * crop vectors, identity); the frozen text encoders are in {@code .text}.
 */
package io.github.sgm4j.modules.encoders;
