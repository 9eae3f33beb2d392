/** Checkpoint I/O: the safetensors format, memory-mapped and validated. */
package io.github.sgm4j.io;
