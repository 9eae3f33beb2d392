/** Port of {@code sgm.modules.diffusionmodules.openaimodel}: the diffusion UNet and its blocks. */
package io.github.sgm4j.modules.diffusionmodules.openaimodel;
