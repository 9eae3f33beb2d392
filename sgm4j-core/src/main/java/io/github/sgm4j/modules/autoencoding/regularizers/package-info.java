/** Port of {@code sgm.modules.autoencoding.regularizers}. */
package io.github.sgm4j.modules.autoencoding.regularizers;
