package io.github.sgm4j.io;

/**
 * One header entry of a safetensors file.
 *
 * @param name the tensor name
 * @param dtype the safetensors dtype code ({@code F32}, {@code BF16}, ...)
 * @param shape the shape (empty for a scalar)
 * @param begin start offset in the data section
 * @param end end offset (exclusive) in the data section
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Byte length. */
    public long byteLength() {
        return end - begin;
    }
}
