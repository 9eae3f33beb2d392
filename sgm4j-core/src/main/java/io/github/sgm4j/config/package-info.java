/**
 * Config-driven construction from the original sgm/ldm YAML: {@link io.github.sgm4j.config.ConfigNode},
 * {@link io.github.sgm4j.config.Instantiator} and the {@link io.github.sgm4j.config.Targets} table.
 */
package io.github.sgm4j.config;
