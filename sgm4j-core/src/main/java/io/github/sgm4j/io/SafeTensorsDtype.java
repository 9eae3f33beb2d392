package io.github.sgm4j.io;

import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** The safetensors dtype codes sgm4j reads and writes, with their element sizes and DJL types. */
enum SafeTensorsDtype {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.FLOAT32),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT32),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int size;
    private final DataType engineType;

    SafeTensorsDtype(int size, DataType engineType) {
        this.size = size;
        this.engineType = engineType;
    }

    /** Bytes per element in the file. */
    int size() {
        return size;
    }

    /** The DJL dtype the tensor is loaded as. */
    DataType engineType() {
        return engineType;
    }

    static SafeTensorsDtype of(String code, Path file, String tensor) {
        for (SafeTensorsDtype d : values()) {
            if (d.name().equals(code)) {
                return d;
            }
        }
        throw new SafeTensorsFormatException(file + ": tensor '" + tensor + "' has unsupported dtype '" + code
                + "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    }

    /** The safetensors code for a DJL dtype. */
    static String codeOf(DataType t, String tensor) {
        return switch (t) {
            case FLOAT64 -> "F64";
            case FLOAT32 -> "F32";
            case FLOAT16 -> "F16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT16 -> "I16";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> throw new IllegalArgumentException(
                    "tensor '" + tensor + "': dtype " + t + " cannot be written to safetensors by sgm4j");
        };
    }

    /**
     * Converts little-endian file bytes to the bytes of {@link #engineType()}: BF16 is widened to
     * float32 ({@code bits << 16}) and I16 to int32 in Java; other dtypes pass through.
     */
    ByteBuffer toEngineBytes(ByteBuffer raw) {
        if (this == BF16) {
            int n = raw.remaining() / 2;
            ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                int bits = raw.getShort() & 0xffff;
                out.putInt(bits << 16);
            }
            out.flip();
            return out;
        }
        if (this == I16) {
            int n = raw.remaining() / 2;
            ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                out.putInt(raw.getShort());
            }
            out.flip();
            return out;
        }
        return raw;
    }
}
