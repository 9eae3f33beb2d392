package io.github.sgm4j.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.Buffer;

/**
 * Creates arrays from Java data whose memory belongs to libtorch.
 *
 * <p>DJL's PyTorch engine builds an array from Java data ({@code NDManager.create(float[])}, {@code
 * create(Buffer, ...)}, {@code create(Number)} and every scalar overload such as {@code
 * NDArray.mul(Number)}) with {@code torch::from_blob} over a direct {@code ByteBuffer} that only
 * the Java {@code PtNDArray} keeps alive. libtorch may hold on to that tensor longer than the Java
 * object: autograd saves the operands of {@code mul}, {@code div}, {@code pow}, {@code maximum},
 * ... for backward, and parameters, schedules and batches live across many ops. Once the Java
 * object is closed or collected the buffer is freed and libtorch reads freed memory (wrong
 * gradients, sometimes NaN, depending on when the garbage collector runs).
 *
 * <p>Every method here creates the array with DJL and immediately replaces it with a native clone
 * (its own libtorch storage), closing the borrowing array; scalars are made natively with {@code
 * torch.full}. This is the only class of sgm4j allowed to call the borrowing DJL overloads
 * ({@code ScalarOwnershipTest} checks the bytecode); scalar arithmetic goes through {@link
 * io.github.sgm4j.nn.F}. On a GPU {@code from_blob} already copies; the extra clone there is
 * harmless.
 */
public final class Tensors {

    private Tensors() {}

    /**
     * A libtorch-owned 0-d array holding {@code value} ({@code torch.full((), value, dtype)}).
     *
     * @param manager the manager that owns the result (and gives its device)
     * @param value the value, converted to {@code dataType} by libtorch as {@code torch.tensor(value,
     *     dtype=dataType)} does (float32: round to nearest, as Java's {@code (float)} cast)
     * @param dataType the dtype of the result
     * @return a new 0-d array
     */
    public static NDArray scalar(NDManager manager, double value, DataType dataType) {
        return JniUtils.full(
                (PtNDManager) manager, new Shape(), value, dataType, manager.getDevice(), SparseFormat.DENSE);
    }

    /**
     * A libtorch-owned 0-d array holding {@code value} with the manager, dtype and device of {@code
     * like}.
     *
     * @param like the array whose manager, dtype and device the result takes
     * @param value the value
     * @return a new 0-d array
     */
    public static NDArray scalarLike(NDArray like, double value) {
        return scalar(like, value, like.getDataType());
    }

    /**
     * A libtorch-owned 0-d array of {@code dataType} on the manager and device of {@code like}.
     *
     * @param like the array whose manager and device the result takes
     * @param value the value
     * @param dataType the dtype of the result
     * @return a new 0-d array
     */
    public static NDArray scalar(NDArray like, double value, DataType dataType) {
        return JniUtils.full(
                (PtNDManager) like.getManager(), new Shape(), value, dataType, like.getDevice(), SparseFormat.DENSE);
    }

    /**
     * A float32 1-d array holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements; copied, not referenced after the call
     * @return a new array [data.length]
     */
    public static NDArray create(NDManager manager, float[] data) {
        return own(manager.create(data));
    }

    /**
     * A float32 array of {@code shape} holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements in row-major order; copied, not referenced after the call
     * @param shape the shape; its size must equal {@code data.length}
     * @return a new array of {@code shape}
     */
    public static NDArray create(NDManager manager, float[] data, Shape shape) {
        return own(manager.create(data, shape));
    }

    /**
     * A float64 1-d array holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements; copied, not referenced after the call
     * @return a new array [data.length]
     */
    public static NDArray create(NDManager manager, double[] data) {
        return own(manager.create(data));
    }

    /**
     * A float64 array of {@code shape} holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements in row-major order; copied, not referenced after the call
     * @param shape the shape; its size must equal {@code data.length}
     * @return a new array of {@code shape}
     */
    public static NDArray create(NDManager manager, double[] data, Shape shape) {
        return own(manager.create(data, shape));
    }

    /**
     * An int64 1-d array holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements; copied, not referenced after the call
     * @return a new array [data.length]
     */
    public static NDArray create(NDManager manager, long[] data) {
        return own(manager.create(data));
    }

    /**
     * An int64 array of {@code shape} holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements in row-major order; copied, not referenced after the call
     * @param shape the shape; its size must equal {@code data.length}
     * @return a new array of {@code shape}
     */
    public static NDArray create(NDManager manager, long[] data, Shape shape) {
        return own(manager.create(data, shape));
    }

    /**
     * An int32 1-d array holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements; copied, not referenced after the call
     * @return a new array [data.length]
     */
    public static NDArray create(NDManager manager, int[] data) {
        return own(manager.create(data));
    }

    /**
     * An int32 array of {@code shape} holding a copy of {@code data}.
     *
     * @param manager the manager that owns the result
     * @param data the elements in row-major order; copied, not referenced after the call
     * @param shape the shape; its size must equal {@code data.length}
     * @return a new array of {@code shape}
     */
    public static NDArray create(NDManager manager, int[] data, Shape shape) {
        return own(manager.create(data, shape));
    }

    /**
     * An array of {@code shape} and {@code dataType} holding a copy of the remaining elements of
     * {@code data} (a direct or heap buffer of the dtype's element type, or a {@code ByteBuffer} in
     * native byte order). The buffer is not referenced after the call.
     *
     * @param manager the manager that owns the result
     * @param data the elements in row-major order, from the buffer's position to its limit
     * @param shape the shape; its size must equal the number of remaining elements
     * @param dataType the dtype of the elements in {@code data}
     * @return a new array of {@code shape} and {@code dataType}
     */
    public static NDArray create(NDManager manager, Buffer data, Shape shape, DataType dataType) {
        return own(manager.create(data, shape, dataType));
    }

    /**
     * Replaces an array that borrows Java memory by a native clone and closes the borrowing one.
     * The clone is owned by the same manager.
     */
    private static NDArray own(NDArray borrowed) {
        try (borrowed) {
            NDArray owned = JniUtils.clone((PtNDArray) borrowed);
            owned.setName(borrowed.getName());
            return owned;
        }
    }
}
