/**
 * Training: the {@code Trainer} loop (progress, checkpoints every N steps, sample grids, metrics,
 * interruption and exact resume), {@code Checkpoints} (atomic model + trainer-state pairs) and the
 * datasets ({@code train.data}). Optimizers and schedulers are in {@link io.github.sgm4j.optim}.
 */
package io.github.sgm4j.train;
