/**
 * The single place where arrays are made from Java data: {@link io.github.sgm4j.engine.Tensors}.
 *
 * <p>DJL's PyTorch engine wraps Java data with {@code torch::from_blob} over a direct buffer that
 * only the Java array object keeps alive. Whatever libtorch keeps beyond that object's life (a
 * tensor saved by autograd for backward, a parameter, a cached schedule) would read freed memory
 * once the garbage collector reclaims the buffer. {@code Tensors} returns libtorch-owned copies
 * instead; {@code ScalarOwnershipTest} enforces that no other class calls the borrowing overloads.
 */
package io.github.sgm4j.engine;
