/** Ports of {@code sgm.modules.autoencoding}. */
package io.github.sgm4j.modules.autoencoding;
