/**
 * Sigma schedules for sampling ({@code sgm.modules.diffusionmodules.discretizer}): EDM (Karras) and the legacy DDPM schedule.
 */
package io.github.sgm4j.modules.diffusionmodules.discretizer;
