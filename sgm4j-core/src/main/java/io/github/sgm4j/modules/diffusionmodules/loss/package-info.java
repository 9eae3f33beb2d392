/**
 * The diffusion training loss ({@code sgm.modules.diffusionmodules.loss.StandardDiffusionLoss}).
 */
package io.github.sgm4j.modules.diffusionmodules.loss;
