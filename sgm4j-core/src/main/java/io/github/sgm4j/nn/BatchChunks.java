package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.function.Function;

/**
 * Applies a function to a batch in consecutive slices along the batch axis and concatenates the
 * results: AutoencoderKL's {@code max_batch_size} and sgm DiffusionEngine's {@code
 * en_and_decode_n_samples_a_time}. Slices run in batch order, so a function that draws noise draws
 * it slice by slice, as the references' loops do.
 */
public final class BatchChunks {

    private BatchChunks() {}

    /**
     * {@code cat([f(x[s:s + n]) for s in range(0, B, n)])}; the whole batch in one call when {@code
     * n} is null or at least the batch size (then {@code f}'s result is returned as it is).
     *
     * @param x the batch, split along axis 0
     * @param n the slice size, or null for the whole batch
     * @param f the function applied to each slice; its result for a slice must not alias the slice
     * @return the concatenated results (a new array owned by the manager of the results)
     * @throws IllegalArgumentException when {@code n} is below 1
     */
    public static NDArray apply(NDArray x, Integer n, Function<NDArray, NDArray> f) {
        if (n != null && n < 1) {
            throw new IllegalArgumentException("samples at a time must be >= 1, got " + n);
        }
        long b = x.getShape().get(0);
        if (n == null || n >= b) {
            return f.apply(x);
        }
        NDList parts = new NDList();
        for (long s = 0; s < b; s += n) {
            try (NDArray part = x.get(s + ":" + Math.min(b, s + n))) {
                parts.add(f.apply(part));
            }
        }
        NDArray out = NDArrays.concat(parts, 0);
        parts.close();
        return out;
    }
}
