/**
 * Guiders ({@code sgm.modules.diffusionmodules.guiders}): batch doubling for classifier-free guidance and the combination of the two halves.
 */
package io.github.sgm4j.modules.diffusionmodules.guiders;
