/**
 * Checkpoint I/O: the safetensors format (memory-mapped and validated), PyTorch zip checkpoints read
 * without executing code ({@link io.github.sgm4j.io.TorchCheckpoint}), and {@link
 * io.github.sgm4j.io.StateDicts}, which opens either as a {@link io.github.sgm4j.io.StateDictFile}.
 */
package io.github.sgm4j.io;
