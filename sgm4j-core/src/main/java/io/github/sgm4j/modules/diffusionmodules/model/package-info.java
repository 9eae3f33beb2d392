/** Port of {@code sgm.modules.diffusionmodules.model}: the autoencoder's Encoder, Decoder and blocks. */
package io.github.sgm4j.modules.diffusionmodules.model;
