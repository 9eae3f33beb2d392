package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;

/**
 * Port of the schedule helpers of {@code ldm.modules.diffusionmodules.util}: beta schedules and the
 * DDIM timestep / coefficient selection, in the reference's float64 (and, where the reference mixes
 * in float32 torch tensors, float32) arithmetic.
 *
 * <p>The schedule helpers return plain Java arrays; the tensor helpers ({@link
 * #extractIntoTensor}, {@link #blend}, {@link #fullLong}) return new arrays that the caller closes.
 * Static methods only; not instantiable.
 */
public final class LdmUtil {

    private LdmUtil() {}

    /**
     * {@code torch.linspace(start, end, n, dtype=float64)}: evaluated from both ends like torch's
     * CPU kernel (the first half as {@code start + step * i}, the second as {@code end - step * (n -
     * 1 - i)}), so the results match torch bit for bit.
     *
     * @param start the first value
     * @param end the last value (included when {@code n > 1})
     * @param n the number of values, {@code >= 0}
     * @return a new float64 array of {@code n} values; {@code [start]} for {@code n == 1}
     * @throws NegativeArraySizeException if {@code n} is negative
     */
    public static double[] linspace(double start, double end, int n) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        double step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (n - i - 1);
        }
        return out;
    }

    /**
     * Port of {@code make_beta_schedule(schedule, n_timestep, linear_start, linear_end, cosine_s)}:
     * {@code linear} (linspace of square roots, squared), {@code cosine} (clipped to [0, 0.999]),
     * {@code sqrt_linear} (plain linear in beta) and {@code sqrt} (square root of a linear ramp).
     * The reference's defaults are {@code linear_start=1e-4}, {@code linear_end=2e-2}, {@code
     * cosine_s=8e-3}; the ldm configs use e.g. 0.0015 / 0.0195 (LDM) or 0.00085 / 0.012 (Stable
     * Diffusion).
     *
     * @param schedule {@code linear}, {@code cosine}, {@code sqrt_linear} or {@code sqrt}
     * @param nTimestep {@code n_timestep}, the number of betas {@code T}, {@code >= 1}
     * @param linearStart {@code linear_start}, the first beta (ignored by {@code cosine})
     * @param linearEnd {@code linear_end}, the last beta (ignored by {@code cosine})
     * @param cosineS {@code cosine_s}, the offset of the cosine schedule (ignored by the others)
     * @return a new float64 array of the {@code T} betas (the reference's {@code betas.numpy()})
     * @throws IllegalArgumentException for an unknown schedule name or {@code nTimestep} less than 1
     */
    public static double[] makeBetaSchedule(String schedule, int nTimestep, double linearStart, double linearEnd,
            double cosineS) {
        if (nTimestep < 1) {
            throw new IllegalArgumentException("n_timestep must be >= 1, got " + nTimestep);
        }
        switch (schedule) {
            case "linear": {
                double[] b = linspace(Math.pow(linearStart, 0.5), Math.pow(linearEnd, 0.5), nTimestep);
                for (int i = 0; i < b.length; i++) {
                    b[i] = b[i] * b[i];
                }
                return b;
            }
            case "cosine": {
                double[] alphas = new double[nTimestep + 1];
                for (int i = 0; i <= nTimestep; i++) {
                    double t = (double) i / nTimestep + cosineS;
                    double a = t / (1 + cosineS) * Math.PI / 2;
                    double c = Math.cos(a);
                    alphas[i] = c * c;
                }
                double a0 = alphas[0];
                for (int i = 0; i <= nTimestep; i++) {
                    alphas[i] = alphas[i] / a0;
                }
                double[] b = new double[nTimestep];
                for (int i = 0; i < nTimestep; i++) {
                    double beta = 1 - alphas[i + 1] / alphas[i];
                    b[i] = Math.min(Math.max(beta, 0.0), 0.999);
                }
                return b;
            }
            case "sqrt_linear":
                return linspace(linearStart, linearEnd, nTimestep);
            case "sqrt": {
                double[] b = linspace(linearStart, linearEnd, nTimestep);
                for (int i = 0; i < b.length; i++) {
                    b[i] = Math.sqrt(b[i]);
                }
                return b;
            }
            default:
                throw new IllegalArgumentException("schedule '" + schedule + "' unknown (linear, cosine, sqrt_linear, sqrt)");
        }
    }

    /**
     * {@code np.cumprod(1 - betas)} in float64, the {@code alphas_cumprod} of {@code
     * DDPM.register_schedule} before it is stored as a float32 buffer.
     *
     * @param betas the betas [T], e.g. from {@link #makeBetaSchedule}; not modified
     * @return a new float64 array [T], {@code prod(1 - betas[0..i])} at index {@code i}
     */
    public static double[] alphasCumprod(double[] betas) {
        double[] out = new double[betas.length];
        double p = 1.0;
        for (int i = 0; i < betas.length; i++) {
            p *= 1. - betas[i];
            out[i] = p;
        }
        return out;
    }

    /**
     * Port of {@code make_ddim_timesteps(method, num_ddim_timesteps, num_ddpm_timesteps)}: {@code
     * uniform} = {@code range(0, T, T // S) + 1} (more than S steps when T % S != 0), {@code quad} =
     * {@code int(linspace(0, sqrt(0.8 T), S)^2) + 1} (may repeat). The reference adds 1 "to get the
     * final alpha values right"; with {@code uniform} and {@code S == T} the last timestep is
     * therefore {@code T}, which {@link DDIMSampler#makeSchedule} rejects.
     *
     * @param method {@code ddim_discr_method}: {@code uniform} or {@code quad}
     * @param numDdimTimesteps {@code S}, the requested number of DDIM steps
     * @param numDdpmTimesteps {@code T}, the model's number of timesteps
     * @return a new array of the selected timesteps, ascending (non-decreasing for {@code quad})
     * @throws IllegalArgumentException when S exceeds T, S &lt; 1, or the method is unknown
     */
    public static long[] makeDdimTimesteps(String method, int numDdimTimesteps, int numDdpmTimesteps) {
        if (numDdimTimesteps < 1) {
            throw new IllegalArgumentException("ddim_num_steps must be >= 1, got " + numDdimTimesteps);
        }
        if (numDdimTimesteps > numDdpmTimesteps) {
            throw new IllegalArgumentException("ddim_num_steps (" + numDdimTimesteps
                    + ") cannot exceed the number of DDPM timesteps (" + numDdpmTimesteps + ")");
        }
        switch (method) {
            case "uniform": {
                int c = numDdpmTimesteps / numDdimTimesteps;
                int n = (numDdpmTimesteps + c - 1) / c;
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (long) i * c + 1;
                }
                return out;
            }
            case "quad": {
                // np.linspace(0, sqrt(T * .8), S): arange(S) * step + 0, last = stop
                double stop = Math.sqrt(numDdpmTimesteps * .8);
                long[] out = new long[numDdimTimesteps];
                double step = numDdimTimesteps > 1 ? stop / (numDdimTimesteps - 1) : 0;
                for (int i = 0; i < numDdimTimesteps; i++) {
                    double v = (i == numDdimTimesteps - 1 && numDdimTimesteps > 1) ? stop : i * step;
                    out[i] = (long) (v * v) + 1;
                }
                return out;
            }
            default:
                throw new IllegalArgumentException("There is no ddim discretization method called \"" + method + "\"");
        }
    }

    /**
     * The result of {@link #makeDdimSamplingParameters}.
     *
     * @param sigmas float64 ({@code eta * sqrt((1-a_prev)/(1-a) * (1 - a/a_prev))})
     * @param alphas float32 ({@code alphacums[timesteps]})
     * @param alphasPrev float64 ({@code [alphacums[0]] + alphacums[timesteps[:-1]]})
     */
    public record DdimParameters(double[] sigmas, float[] alphas, double[] alphasPrev) {}

    /**
     * Port of {@code make_ddim_sampling_parameters(alphacums, ddim_timesteps, eta)} over float32
     * {@code alphacums} (the model's buffer), with the reference's dtype mixture: {@code alphas =
     * alphacums[ddim_timesteps]} stays float32, {@code alphas_prev} and the sigmas {@code eta *
     * sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))} are float64.
     *
     * @param alphacums the float32 {@code alphas_cumprod} [T]; not modified
     * @param ddimTimesteps the selected timesteps from {@link #makeDdimTimesteps}, each in {@code [0,
     *     T)}; not modified
     * @param eta {@code eta}, the scale of the sigmas (0 gives deterministic DDIM)
     * @return the sigmas, alphas and previous alphas, one entry per selected timestep
     * @throws ArrayIndexOutOfBoundsException if a timestep is outside {@code alphacums}
     */
    public static DdimParameters makeDdimSamplingParameters(float[] alphacums, long[] ddimTimesteps, double eta) {
        int n = ddimTimesteps.length;
        float[] alphas = new float[n];
        double[] prev = new double[n];
        double[] sigmas = new double[n];
        for (int i = 0; i < n; i++) {
            alphas[i] = alphacums[(int) ddimTimesteps[i]];
            prev[i] = i == 0 ? alphacums[0] : alphacums[(int) ddimTimesteps[i - 1]];
        }
        for (int i = 0; i < n; i++) {
            double oneMinusA = 1f - alphas[i];
            double t1 = (1 - prev[i]) / oneMinusA;
            double t2 = 1 - alphas[i] / prev[i];
            sigmas[i] = eta * Math.sqrt(t1 * t2);
        }
        return new DdimParameters(sigmas, alphas, prev);
    }

    /**
     * Port of {@code extract_into_tensor(a, t, x_shape)}: {@code a.gather(-1, t)} reshaped to {@code
     * [B, 1, ..., 1]} (rank of {@code x_shape}); the result lives in {@code t}'s manager.
     *
     * @param a the 1-D schedule buffer [T] (borrowed, not closed)
     * @param t [B] integer timesteps in {@code [0, T)} (converted to int64 if needed; not closed)
     * @param xShape the shape to broadcast against, batch first (typically [B, C, H, W])
     * @return a new array [B, 1, ..., 1] of {@code a}'s dtype, owned by {@code t}'s manager; the
     *     caller closes it
     * @throws IllegalArgumentException if {@code t} is not 1-D or an index is out of range
     */
    public static NDArray extractIntoTensor(NDArray a, NDArray t, Shape xShape) {
        if (t.getShape().dimension() != 1) {
            throw new IllegalArgumentException("extract_into_tensor: t must be 1-D [B], got " + t.getShape());
        }
        long n = a.getShape().get(a.getShape().dimension() - 1);
        NDArray ti = t.getDataType() == DataType.INT64 ? t : t.toType(DataType.INT64, false);
        try {
            long[] ids = ti.toLongArray();
            for (long id : ids) {
                if (id < 0 || id >= n) {
                    throw new IllegalArgumentException("timestep " + id + " out of range [0, " + n + ")");
                }
            }
            long[] dims = new long[xShape.dimension()];
            java.util.Arrays.fill(dims, 1);
            dims[0] = ids.length;
            try (NDArray out = a.take(t.getManager(), ti)) {
                return out.reshape(new Shape(dims));
            }
        } finally {
            if (ti != t) {
                ti.close();
            }
        }
    }

    /**
     * Validates inpainting inputs: {@code x0} must be given with {@code mask} and have the latent's
     * shape; {@code mask} must have the latent's rank with every dimension equal to the latent's or 1
     * (e.g. [B, 1, H, W] for a [B, C, H, W] latent). Only the batch and channel dimensions may be
     * 1; the spatial ones must match. Both null is valid (no inpainting).
     *
     * @param mask the inpainting mask, or null
     * @param x0 the known latent, or null
     * @param latent the shape of the sample [B, C, H, W]
     * @throws IllegalArgumentException naming the shapes, when only one of {@code mask} and {@code
     *     x0} is given or a shape does not match
     */
    public static void checkMask(NDArray mask, NDArray x0, Shape latent) {
        if (mask == null) {
            if (x0 != null) {
                throw new IllegalArgumentException("x0 " + x0.getShape() + " given without a mask");
            }
            return;
        }
        if (x0 == null) {
            throw new IllegalArgumentException("mask " + mask.getShape() + " given without x0 (the known latent)");
        }
        if (!x0.getShape().equals(latent)) {
            throw new IllegalArgumentException("x0 shape " + x0.getShape() + " differs from the latent shape " + latent);
        }
        Shape m = mask.getShape();
        boolean ok = m.dimension() == latent.dimension();
        for (int i = 0; ok && i < m.dimension(); i++) {
            ok = m.get(i) == latent.get(i) || (m.get(i) == 1 && i < 2);
        }
        if (!ok) {
            throw new IllegalArgumentException("mask shape " + m + " does not match the latent shape " + latent
                    + " (expected [B or 1, C or 1, " + (latent.dimension() > 2 ? latent.get(2) + ", " + latent.get(3) : "")
                    + "])");
        }
    }

    /**
     * The inpainting blend of the ldm samplers: {@code q_sample(x0, t) * mask + (1 - mask) * img}
     * ({@code q_sample} draws {@code randn_like(x0)}), which the samplers apply before every step.
     *
     * @param model the model whose {@link SamplingModel#qSample} noises {@code x0}
     * @param x0 the known latent [B, C, H, W]
     * @param t [B] int64, the current timestep
     * @param mask 1 = keep {@code x0}, 0 = keep {@code img}; broadcastable to the latent
     * @param img the current sample [B, C, H, W]
     * @param noise source of the {@code randn_like(x0)} draw
     * @return the blended sample [B, C, H, W], a new array in {@code t}'s manager; the caller closes
     *     it (the inputs are not closed)
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public static NDArray blend(SamplingModel model, NDArray x0, NDArray t, NDArray mask, NDArray img,
            io.github.sgm4j.noise.NoiseSource noise) {
        try (NDArray n = noise.randnLike(x0);
                NDArray imgOrig = model.qSample(x0, t, n);
                NDArray a = imgOrig.mul(mask);
                NDArray inv = F.add(mask.neg(), 1f);
                NDArray b = inv.mul(img)) {
            return a.add(b);
        }
    }

    /**
     * {@code torch.full((b,), value, dtype=torch.long)} on {@code manager}'s device: the per-sample
     * timestep tensor of the sampling loops.
     *
     * @param manager the manager that owns the result
     * @param b the batch size, {@code 0 <= b <= Integer.MAX_VALUE}
     * @param value the value of every element
     * @return a new int64 array [b] owned by {@code manager}; the caller closes it
     */
    public static NDArray fullLong(ai.djl.ndarray.NDManager manager, long b, long value) {
        long[] v = new long[(int) b];
        java.util.Arrays.fill(v, value);
        return Tensors.create(manager, v);
    }
}
