/** Ports of {@code sgm.modules}: LitEma and the sub-packages (attention, diffusion modules, encoders, ...). */
package io.github.sgm4j.modules;
