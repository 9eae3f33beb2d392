/**
 * The PyTorch-named module tree: {@link io.github.sgm4j.nn.Module}, the layers sgm and ldm are
 * built from, and {@link io.github.sgm4j.nn.F}, the functional ops (the only class touching engine
 * internals).
 */
package io.github.sgm4j.nn;
