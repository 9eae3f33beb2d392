package io.github.sgm4j.modules.distributions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.modules.distributions.distributions.DiagonalGaussianDistribution}: the VAE
 * posterior, parameterised by {@code [B, 2C, H, W]} moments split into mean and log-variance along
 * dim 1; the log-variance is clamped to [-30, 20].
 *
 * <p>The distribution owns the arrays it derives ({@code mean}, {@code logvar}, {@code std}, {@code
 * var}); close it (or the manager of {@code parameters}) when done. The parameters themselves are
 * not closed.
 */
public final class DiagonalGaussianDistribution implements AutoCloseable {

    private static final double LOG_TWO_PI = Math.log(2.0 * Math.PI);

    private final NDArray parameters;
    private final NDArray mean;
    private final NDArray logvar;
    private final NDArray std;
    private final NDArray var;
    private final boolean deterministic;

    /**
     * {@code DiagonalGaussianDistribution(parameters)}.
     *
     * @param parameters the moments {@code [B, 2C, H, W]}: mean and log-variance concatenated on dim 1
     */
    public DiagonalGaussianDistribution(NDArray parameters) {
        this(parameters, false);
    }

    /**
     * {@code DiagonalGaussianDistribution(parameters, deterministic)}.
     *
     * @param parameters [B, 2C, ...] moments: mean then log-variance along dim 1
     * @param deterministic when true, std and var are zero and kl/nll return [0]
     */
    public DiagonalGaussianDistribution(NDArray parameters, boolean deterministic) {
        Shape s = parameters.getShape();
        if (s.dimension() < 2 || s.get(1) % 2 != 0) {
            throw new IllegalArgumentException(
                    "DiagonalGaussianDistribution expects [B, 2C, ...] moments with an even channel count, got " + s);
        }
        this.parameters = parameters;
        this.deterministic = deterministic;
        NDList halves = parameters.split(2, 1);
        this.mean = halves.get(0);
        try (NDArray raw = halves.get(1)) {
            this.logvar = raw.clip(-30.0, 20.0);
        }
        if (deterministic) {
            this.std = mean.zerosLike();
            this.var = mean.zerosLike();
        } else {
            try (NDArray half = F.mul(logvar, 0.5)) {
                this.std = half.exp();
            }
            this.var = logvar.exp();
        }
    }

    /**
     * Posterior mean [B, C, ...].
     *
     * @return the mean {@code [B, C, H, W]} (owned by this distribution)
     */
    public NDArray getMean() {
        return mean;
    }

    /**
     * Clamped log-variance.
     *
     * @return the clamped log-variance (owned by this distribution)
     */
    public NDArray getLogvar() {
        return logvar;
    }

    /**
     * {@code exp(0.5 * logvar)} (zeros when deterministic).
     *
     * @return the standard deviation (owned by this distribution)
     */
    public NDArray getStd() {
        return std;
    }

    /**
     * {@code exp(logvar)} (zeros when deterministic).
     *
     * @return the variance (owned by this distribution)
     */
    public NDArray getVar() {
        return var;
    }

    /**
     * Whether the distribution was built deterministic.
     *
     * @return whether the variance is forced to zero
     */
    public boolean isDeterministic() {
        return deterministic;
    }

    /**
     * The moments this distribution was built from.
     *
     * @return the moments (the caller's array)
     */
    public NDArray getParameters() {
        return parameters;
    }

    /**
     * {@code sample()}: {@code mean + std * randn(mean.shape)}. The draw happens also when
     * deterministic (as in the reference), so replayed noise stays aligned.
     *
     * @param noise the source of the standard normal draw
     * @return a new array shaped like the mean, in the mean's manager
     */
    public NDArray sample(NoiseSource noise) {
        NDManager m = mean.getManager();
        try (NDArray eps = noise.randn(m, mean.getShape());
                NDArray epsOnDevice = eps.toDevice(mean.getDevice(), false);
                NDArray scaled = std.mul(epsOnDevice)) {
            return mean.add(scaled);
        }
    }

    /**
     * {@code mode()}: the mean (a new handle).
     *
     * @return a new handle to the mean
     */
    public NDArray mode() {
        return io.github.sgm4j.nn.F.alias(mean);
    }

    /**
     * {@code kl()}: KL to the standard normal, summed over dims 1, 2, 3 -> [B] ([1] when deterministic).
     *
     * @return a new {@code [B]} array ({@code [1]} zero when deterministic)
     */
    public NDArray kl() {
        if (deterministic) {
            return Tensors.create(mean.getManager(), new float[] {0f});
        }
        try (NDArray m2 = mean.square();
                NDArray a = m2.add(var);
                NDArray b = F.sub(a, 1.0);
                NDArray c = b.sub(logvar);
                NDArray s = c.sum(sumDims(new int[] {1, 2, 3}))) {
            return F.mul(s, 0.5);
        }
    }

    /**
     * {@code kl(other)}: KL to another diagonal Gaussian, summed over dims 1, 2, 3.
     *
     * @param other the other distribution
     * @return a new {@code [B]} array ({@code [1]} zero when deterministic)
     */
    public NDArray kl(DiagonalGaussianDistribution other) {
        if (deterministic) {
            return Tensors.create(mean.getManager(), new float[] {0f});
        }
        try (NDArray d = mean.sub(other.mean);
                NDArray d2 = d.square();
                NDArray t1 = d2.div(other.var);
                NDArray t2 = var.div(other.var);
                NDArray a = t1.add(t2);
                NDArray b = F.sub(a, 1.0);
                NDArray c = b.sub(logvar);
                NDArray e = c.add(other.logvar);
                NDArray s = e.sum(sumDims(new int[] {1, 2, 3}))) {
            return F.mul(s, 0.5);
        }
    }

    /**
     * {@code nll(sample)} with the default dims [1, 2, 3].
     *
     * @param sample the values to score, shaped like the mean
     * @return a new array, reduced over the summed dims ({@code [1]} zero when deterministic)
     */
    public NDArray nll(NDArray sample) {
        return nll(sample, new int[] {1, 2, 3});
    }

    /**
     * {@code nll(sample, dims)}: Gaussian negative log-likelihood summed over {@code dims}.
     *
     * @param sample the values to score, shaped like the mean
     * @param dims the dimensions to sum over
     * @return a new array, reduced over the summed dims ({@code [1]} zero when deterministic)
     */
    public NDArray nll(NDArray sample, int[] dims) {
        if (deterministic) {
            return Tensors.create(mean.getManager(), new float[] {0f});
        }
        try (NDArray a = F.add(logvar, LOG_TWO_PI);
                NDArray d = sample.sub(mean);
                NDArray d2 = d.square();
                NDArray q = d2.div(var);
                NDArray t = a.add(q);
                NDArray s = t.sum(sumDims(dims))) {
            return F.mul(s, 0.5);
        }
    }

    private int[] sumDims(int[] dims) {
        int rank = mean.getShape().dimension();
        for (int d : dims) {
            if (d < 0 || d >= rank) {
                throw new IllegalArgumentException("dimension " + d + " out of range for shape " + mean.getShape());
            }
        }
        return dims;
    }

    /**
     * Port of {@code normal_kl(mean1, logvar1, mean2, logvar2)}: elementwise KL between two
     * Gaussians, broadcasting.
     *
     * @param mean1 the first mean
     * @param logvar1 the first log-variance
     * @param mean2 the second mean
     * @param logvar2 the second log-variance
     * @return a new array of the broadcast shape, in {@code mean1}'s manager
     */
    public static NDArray normalKl(NDArray mean1, NDArray logvar1, NDArray mean2, NDArray logvar2) {
        // 0.5 * (-1.0 + logvar2 - logvar1 + exp(logvar1 - logvar2) + (mean1 - mean2)^2 * exp(-logvar2))
        try (NDArray a = F.add(logvar2, -1.0);
                NDArray b = a.sub(logvar1);
                NDArray dl = logvar1.sub(logvar2);
                NDArray e1 = dl.exp();
                NDArray c = b.add(e1);
                NDArray dm = mean1.sub(mean2);
                NDArray dm2 = dm.square();
                NDArray nl = logvar2.neg();
                NDArray e2 = nl.exp();
                NDArray t = dm2.mul(e2);
                NDArray sum = c.add(t)) {
            return F.mul(sum, 0.5);
        }
    }

    /**
     * {@code normal_kl} with a scalar {@code logvar2}.
     *
     * @param mean1 the first mean
     * @param logvar1 the first log-variance
     * @param mean2 the second mean
     * @param logvar2 the second log-variance
     * @return a new array of the broadcast shape, in {@code mean1}'s manager
     */
    public static NDArray normalKl(NDArray mean1, NDArray logvar1, NDArray mean2, double logvar2) {
        try (NDArray lv2 = mean1.getManager().full(new Shape(), (float) logvar2).toDevice(mean1.getDevice(), false)) {
            return normalKl(mean1, logvar1, mean2, lv2);
        }
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
        std.close();
        var.close();
    }
}
