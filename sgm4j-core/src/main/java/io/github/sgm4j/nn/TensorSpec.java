package io.github.sgm4j.nn;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * One state-dict entry as a listing: key, shape and dtype, without data.
 *
 * @param key the state-dict key
 * @param shape the tensor shape
 * @param dataType the tensor dtype
 */
public record TensorSpec(String key, Shape shape, DataType dataType) {

    /**
     * The line format of the reference key listings ({@code golden/keys/*.tsv}): {@code
     * key<TAB>d0,d1,...<TAB>dtype}, shape empty for a scalar, dtype as torch names it ({@code
     * float32}, {@code int32}, ...).
     *
     * @return the line, without a trailing newline
     */
    public String toListingLine() {
        StringBuilder sb = new StringBuilder(key).append('\t');
        long[] dims = shape.getShape();
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(dims[i]);
        }
        return sb.append('\t').append(torchDtypeName(dataType)).toString();
    }

    /**
     * torch's name of a dtype ({@code float32}, {@code float16}, {@code int64}, {@code bool}, ...).
     *
     * @param dataType the dtype
     * @return the torch name, or the lower-case DJL name for dtypes torch names differently
     */
    public static String torchDtypeName(DataType dataType) {
        return switch (dataType) {
            case FLOAT64 -> "float64";
            case FLOAT32 -> "float32";
            case FLOAT16 -> "float16";
            case INT64 -> "int64";
            case INT32 -> "int32";
            case INT16 -> "int16";
            case INT8 -> "int8";
            case UINT8 -> "uint8";
            case BOOLEAN -> "bool";
            default -> dataType.name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
