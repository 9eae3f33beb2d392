package io.github.sgm4j.modules.diffusionmodules.denoiserscaling;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.F;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser_scaling.DenoiserScaling}: maps sigma to the
 * preconditioning {@code (c_skip, c_out, c_in, c_noise)} of Karras et al. (2022), table 1.
 */
@FunctionalInterface
public interface DenoiserScaling {

    /** The four coefficients, each shaped like the sigma they were computed from. */
    record Scalings(NDArray cSkip, NDArray cOut, NDArray cIn, NDArray cNoise) implements AutoCloseable {
        @Override
        public void close() {
            cSkip.close();
            cOut.close();
            cIn.close();
            cNoise.close();
        }
    }

    /**
     * {@code scaling(sigma)}; {@code sigma} usually has trailing singleton dims ({@code append_dims}).
     *
     * @param sigma the noise levels (any shape)
     * @return the four scalings, new arrays shaped like {@code sigma}; the caller closes them
     */
    Scalings apply(NDArray sigma);

    /**
     * {@code a / t} as torch evaluates a python scalar divided by a tensor: {@code t.reciprocal() *
     * a} (two roundings).
     *
     * @param a the numerator
     * @param t the denominator
     * @return a new array {@code a / t}
     */
    static NDArray rdiv(float a, NDArray t) {
        try (NDArray ones = t.onesLike();
                NDArray r = ones.div(t)) {
            return a == 1f ? r.duplicate() : F.mul(r, a);
        }
    }

    /**
     * {@code sigma**2 + a}, float32 as torch computes it.
     *
     * @param sigma the noise levels (any shape)
     * @param a the constant to add
     * @return a new array {@code sigma^2 + a}
     */
    static NDArray sigmaSqPlus(NDArray sigma, float a) {
        try (NDArray s2 = sigma.square()) {
            return F.add(s2, a);
        }
    }
}
