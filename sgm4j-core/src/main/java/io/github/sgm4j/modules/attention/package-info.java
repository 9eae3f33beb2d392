/** Port of {@code sgm.modules.attention}: cross-attention, GEGLU feed-forward, transformer blocks. */
package io.github.sgm4j.modules.attention;
