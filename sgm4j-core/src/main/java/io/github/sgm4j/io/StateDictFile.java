package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * An open file of named tensors (a state dict), whatever its format: {@link SafeTensorsFile} for
 * {@code .safetensors}, {@link TorchCheckpoint} for PyTorch {@code .ckpt} / {@code .pth}. Open one
 * with {@link StateDicts#open}, which chooses by content; close it when done (arrays already loaded
 * stay valid).
 *
 * <pre>{@code
 * try (StateDictFile f = StateDicts.open(path)) {
 *     for (String k : f.keys()) {
 *         NDArray w = f.load(k, manager, DataType.FLOAT32);   // fp16/bf16 converted on load
 *     }
 * }
 * }</pre>
 */
public interface StateDictFile extends AutoCloseable {

    /**
     * The file.
     *
     * @return the path it was opened from
     */
    Path path();

    /**
     * Tensor names, in file order.
     *
     * @return a new list
     */
    List<String> keys();

    /**
     * Whether the file has a tensor {@code name}.
     *
     * @param name the tensor name
     * @return true when present
     */
    boolean contains(String name);

    /**
     * The dtype and shape of {@code name}: {@link TensorInfo#dtype()} is a safetensors dtype code
     * ({@code F32}, {@code F16}, {@code BF16}, {@code I64}, ...) in every format; {@link
     * TensorInfo#begin()} and {@link TensorInfo#end()} are format-specific byte offsets.
     *
     * @param name the tensor name
     * @return the entry
     * @throws IllegalArgumentException if there is no such tensor
     */
    TensorInfo info(String name);

    /**
     * String metadata of the file: safetensors' {@code __metadata__}; for a torch checkpoint, the
     * top-level numbers and strings beside the state dict (Lightning's {@code global_step}, {@code
     * epoch}, ...).
     *
     * @return an unmodifiable map (empty when there is none)
     */
    Map<String, String> metadata();

    /**
     * Loads {@code name} in its stored dtype (BF16 becomes FLOAT32, I16 becomes INT32).
     *
     * @param name the tensor name
     * @param manager the manager that owns the result
     * @return a new array (the caller owns it)
     * @throws IllegalArgumentException if there is no such tensor
     */
    NDArray load(String name, NDManager manager);

    /**
     * Loads {@code name} converted to {@code target}.
     *
     * @param name the tensor name
     * @param manager the manager that owns the result
     * @param target the dtype of the result, or null for the stored dtype
     * @return a new array (the caller owns it)
     * @throws IllegalArgumentException if there is no such tensor
     */
    NDArray load(String name, NDManager manager, DataType target);

    /**
     * Loads every tensor in its stored dtype.
     *
     * @param manager the manager that owns the arrays
     * @return the arrays by name, in file order; the caller owns them
     */
    Map<String, NDArray> loadAll(NDManager manager);

    /**
     * Loads every tensor converted to {@code target}.
     *
     * @param manager the manager that owns the arrays
     * @param target the dtype of every result, or null for the stored dtypes
     * @return the arrays by name, in file order; the caller owns them
     */
    Map<String, NDArray> loadAll(NDManager manager, DataType target);

    /**
     * Loads the tensors whose names pass {@code filter}.
     *
     * @param manager the manager that owns the arrays
     * @param target the dtype of every result, or null for the stored dtypes
     * @param filter the test on tensor names
     * @return the loaded arrays by name, in file order; the caller owns them
     */
    Map<String, NDArray> loadAll(NDManager manager, DataType target, Predicate<String> filter);

    /** Releases the file (no checked exception). */
    @Override
    void close();
}
