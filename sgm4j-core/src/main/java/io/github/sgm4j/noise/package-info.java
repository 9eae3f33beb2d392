/**
 * Randomness as an injected dependency: {@link io.github.sgm4j.noise.NoiseSource} and its default
 * torch-seeded and replaying implementations.
 */
package io.github.sgm4j.noise;
