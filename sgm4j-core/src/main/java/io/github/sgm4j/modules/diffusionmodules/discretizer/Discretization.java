package io.github.sgm4j.modules.diffusionmodules.discretizer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.engine.Tensors;

/**
 * Port of {@code sgm.modules.diffusionmodules.discretizer.Discretization}: a noise schedule of
 * {@code n} sigmas, optionally with a trailing zero and flipped.
 *
 * <p>The values are computed on the host in the reference's float32/float64 rounding order, so
 * {@link #sigmas(int, boolean, boolean)} is the exact float32 array the reference returns.
 */
public abstract class Discretization {

    /**
     * The {@code n} schedule sigmas, descending from the largest (float32 values).
     *
     * @param n the number of sigmas (at least 1)
     * @return {@code n} float32 sigmas, descending
     */
    public abstract float[] getSigmas(int n);

    /**
     * {@code __call__(n, do_append_zero, flip)} as host floats.
     *
     * @param n the number of sigmas (at least 1)
     * @param doAppendZero whether to append a trailing sigma 0
     * @param flip whether to reverse the order (ascending)
     * @return the float32 sigmas ({@code n}, plus one with the zero)
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public float[] sigmas(int n, boolean doAppendZero, boolean flip) {
        if (n < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": number of sigmas must be >= 1, got " + n);
        }
        float[] s = getSigmas(n);
        float[] out = doAppendZero ? java.util.Arrays.copyOf(s, s.length + 1) : s;
        if (flip) {
            float[] f = new float[out.length];
            for (int i = 0; i < out.length; i++) {
                f[i] = out[out.length - 1 - i];
            }
            out = f;
        }
        return out;
    }

    /**
     * {@code __call__(n, do_append_zero=True, flip=False)} as host floats.
     *
     * @param n the number of sigmas (at least 1)
     * @return the float32 sigmas ({@code n}, plus one with the zero)
     */
    public float[] sigmas(int n) {
        return sigmas(n, true, false);
    }

    /**
     * {@code __call__(n, do_append_zero, flip)}: a float32 [n (+1)] array in {@code manager}.
     *
     * @param manager the manager that owns the returned arrays
     * @param n the number of sigmas (at least 1)
     * @param doAppendZero whether to append a trailing sigma 0
     * @param flip whether to reverse the order (ascending)
     * @return a new float32 array in {@code manager}
     */
    public NDArray call(NDManager manager, int n, boolean doAppendZero, boolean flip) {
        return Tensors.create(manager, sigmas(n, doAppendZero, flip));
    }
}
