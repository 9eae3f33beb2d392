/**
 * Loss weightings lambda(sigma) ({@code sgm.modules.diffusionmodules.loss_weighting}): unit, EDM, v and eps.
 */
package io.github.sgm4j.modules.diffusionmodules.lossweighting;
