package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.util.Dims;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling_util} (itself from k-diffusion) and of
 * {@code sgm.util.append_dims}: the small pure functions the samplers are built from.
 *
 * <p>All functions return new arrays in the first argument's manager and never modify their
 * arguments. Sigma arguments are 1-D {@code [B]} float32 arrays (the reference's {@code s_in *
 * sigmas[i]}).
 */
public final class SamplingUtils {

    private SamplingUtils() {}

    /**
     * {@code torch.where(append_dims(sigma, x.ndim) > 0, a, b)}: per-sample choice by the sign of
     * {@code sigma} [B], broadcast over {@code a}'s shape.
     *
     * @param sigma the per-sample noise levels {@code [B]}
     * @param a the values where {@code sigma > 0}, {@code [B, ...]}
     * @param b the values elsewhere, same shape as {@code a}
     * @return a new array shaped like {@code a}
     */
    public static NDArray whereSigmaPositive(NDArray sigma, NDArray a, NDArray b) {
        try (NDArray s = Dims.appendDims(sigma, a.getShape().dimension());
                NDArray gt = F.gt(s, 0.0f);
                NDArray mask = gt.broadcast(a.getShape())) {
            return ai.djl.ndarray.NDArrays.where(mask, a, b);
        }
    }

    /**
     * {@code to_d(x, sigma, denoised) = (x - denoised) / append_dims(sigma, x.ndim)}: Karras ODE
     * derivative.
     *
     * @param x the current sample {@code [B, ...]}
     * @param sigma the per-sample noise levels {@code [B]}
     * @param denoised the denoised estimate, shaped like {@code x}
     * @return a new array shaped like {@code x}
     */
    public static NDArray toD(NDArray x, NDArray sigma, NDArray denoised) {
        try (NDArray diff = x.sub(denoised);
                NDArray s = Dims.appendDims(sigma, x.getShape().dimension())) {
            return diff.div(s);
        }
    }

    /**
     * {@code to_neg_log_sigma(sigma) = -log(sigma)}.
     *
     * @param sigma noise levels
     * @return a new array of the same shape
     */
    public static NDArray toNegLogSigma(NDArray sigma) {
        try (NDArray l = sigma.log()) {
            return l.neg();
        }
    }

    /**
     * {@code to_sigma(neg_log_sigma) = exp(-neg_log_sigma)}.
     *
     * @param negLogSigma negative log noise levels
     * @return a new array of the same shape
     */
    public static NDArray toSigma(NDArray negLogSigma) {
        try (NDArray n = negLogSigma.neg()) {
            return n.exp();
        }
    }

    /**
     * {@code torch.expm1} (elementwise {@code exp(x) - 1} without cancellation), computed on the
     * host in {@link Math#expm1}.
     *
     * @param x a float32 or float64 array (other dtypes go through float32)
     * @return a new array of {@code x}'s shape, dtype and device
     */
    public static NDArray expm1(NDArray x) {
        if (x.getDataType() == DataType.FLOAT64) {
            double[] v = x.toDoubleArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.expm1(v[i]);
            }
            return Tensors.create(x.getManager(), v, x.getShape()).toDevice(x.getDevice(), false);
        }
        float[] v = x.toType(DataType.FLOAT32, false).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.expm1(v[i]);
        }
        NDArray out = Tensors.create(x.getManager(), v, x.getShape()).toDevice(x.getDevice(), false);
        return out.getDataType() == x.getDataType() ? out : out.toType(x.getDataType(), false);
    }

    /**
     * The pair returned by {@link #getAncestralStep}; closing it closes both arrays.
     *
     * @param sigmaDown the noise level to step down to, {@code [B]}
     * @param sigmaUp the standard deviation of the fresh noise to add, {@code [B]}
     */
    public record AncestralStep(NDArray sigmaDown, NDArray sigmaUp) implements AutoCloseable {
        @Override
        public void close() {
            sigmaDown.close();
            sigmaUp.close();
        }
    }

    /**
     * {@code get_ancestral_step(sigma_from, sigma_to, eta)}: the noise levels to step down to and
     * the amount of noise to add (k-diffusion). With {@code eta == 0} returns {@code (sigma_to, 0)}.
     *
     * @param sigmaFrom the current noise levels {@code [B]}
     * @param sigmaTo the next noise levels {@code [B]}
     * @param eta the ancestral noise scale (0 gives a deterministic step)
     * @return new arrays in {@code sigmaTo}'s manager; the caller closes the pair
     */
    public static AncestralStep getAncestralStep(NDArray sigmaFrom, NDArray sigmaTo, double eta) {
        if (eta == 0.0) {
            return new AncestralStep(sigmaTo.duplicate(), sigmaTo.zerosLike());
        }
        try (NDArray to2 = sigmaTo.square();
                NDArray from2 = sigmaFrom.square();
                NDArray diff = from2.sub(to2);
                NDArray num = to2.mul(diff);
                NDArray q = num.div(from2);
                NDArray r = q.sqrt();
                NDArray scaled = F.mul(r, (float) eta)) {
            // sigma_up = min(sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5)
            NDArray sigmaUp = sigmaTo.minimum(scaled);
            try (NDArray up2 = sigmaUp.square();
                    NDArray d = to2.sub(up2)) {
                NDArray sigmaDown = d.sqrt();
                return new AncestralStep(sigmaDown, sigmaUp);
            }
        }
    }

    /**
     * {@code linear_multistep_coeff(order, t, i, j, epsrel=1e-4)}: the integral over {@code [t[i],
     * t[i+1]]} of the j-th Lagrange basis polynomial through {@code t[i], t[i-1], ...}.
     *
     * <p>{@code t} holds the float32 sigmas, as the reference's numpy float32 array: the numerator
     * {@code tau - t[i-k]} is evaluated in double, the denominator {@code t[i-j] - t[i-k]} in
     * float32 (numpy 1.x scalar rules), then the integral by adaptive Gauss–Kronrod quadrature.
     *
     * @param order the multistep order (number of points)
     * @param t the float32 sigmas
     * @param i the current step index
     * @param j the basis polynomial index, {@code 0 <= j < order}
     * @return the coefficient for the derivative of step {@code i - j}
     * @throws IllegalArgumentException if {@code order - 1 > i}
     */
    public static double linearMultistepCoeff(int order, float[] t, int i, int j) {
        return linearMultistepCoeff(order, t, i, j, 1e-4);
    }

    /**
     * {@link #linearMultistepCoeff(int, float[], int, int)} with an explicit {@code epsrel}.
     *
     * @param order the multistep order (number of points)
     * @param t the float32 sigmas
     * @param i the current step index
     * @param j the basis polynomial index, {@code 0 <= j < order}
     * @param epsrel the quadrature's relative error target
     * @return the coefficient for the derivative of step {@code i - j}
     * @throws IllegalArgumentException if {@code order - 1 > i}
     */
    public static double linearMultistepCoeff(int order, float[] t, int i, int j, double epsrel) {
        if (order - 1 > i) {
            throw new IllegalArgumentException("Order " + order + " too high for step " + i);
        }
        return GaussKronrod.quad(
                tau -> {
                    double prod = 1.0;
                    for (int k = 0; k < order; k++) {
                        if (j == k) {
                            continue;
                        }
                        float den = t[i - j] - t[i - k];
                        prod *= (tau - t[i - k]) / (double) den;
                    }
                    return prod;
                },
                t[i],
                t[i + 1],
                epsrel);
    }
}
