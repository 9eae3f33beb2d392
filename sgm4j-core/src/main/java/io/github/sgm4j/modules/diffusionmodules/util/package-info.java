/**
 * Helpers of {@code sgm.modules.diffusionmodules.util}: timestep embeddings and torch 1.13's float32 math where libtorch 2.7 rounds differently.
 */
package io.github.sgm4j.modules.diffusionmodules.util;
