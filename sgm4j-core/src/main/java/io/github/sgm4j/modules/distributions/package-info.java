/** Port of {@code sgm.modules.distributions}: the VAE's diagonal Gaussian posterior. */
package io.github.sgm4j.modules.distributions;
