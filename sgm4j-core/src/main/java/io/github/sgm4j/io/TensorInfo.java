package io.github.sgm4j.io;

/**
 * One header entry of a safetensors file, or the dtype and shape of a tensor of any {@link StateDictFile}.
 *
 * @param name the tensor name
 * @param dtype the safetensors dtype code ({@code F32}, {@code BF16}, ...)
 * @param shape the shape (empty for a scalar)
 * @param begin start offset in the data section (for a {@link TorchCheckpoint}: of the first element
 *     in the tensor's storage entry)
 * @param end end offset (exclusive) in the data section (for a {@link TorchCheckpoint}: {@code begin}
 *     plus the bytes of a contiguous tensor of this shape)
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {

    /**
     * Number of elements (overflow-checked: the header parser rejects shapes whose count overflows).
     *
     * @return the product of the shape (1 for a scalar)
     * @throws SafeTensorsFormatException if the product overflows a long
     */
    public long numel() {
        return SafeTensorsHeader.numel(shape, "tensor '" + name + "'");
    }

    /**
     * Byte length.
     *
     * @return {@code end - begin}
     */
    public long byteLength() {
        return end - begin;
    }
}
