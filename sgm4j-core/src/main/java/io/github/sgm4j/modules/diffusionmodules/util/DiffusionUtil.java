package io.github.sgm4j.modules.diffusionmodules.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;

/**
 * Port of the helpers in {@code sgm.modules.diffusionmodules.util} (identical to ldm's copies).
 */
public final class DiffusionUtil {

    private DiffusionUtil() {}

    /**
     * {@code timestep_embedding(timesteps, dim)} with {@code max_period=10000}.
     *
     * @param timesteps the timesteps (or {@code c_noise}) {@code [B]}
     * @param dim the embedding dimension
     * @return a new {@code [B, dim]} float32 array
     */
    public static NDArray timestepEmbedding(NDArray timesteps, int dim) {
        return timestepEmbedding(timesteps, dim, 10000, false);
    }

    /**
     * Port of {@code timestep_embedding}: sinusoidal embeddings {@code [cos(t f), sin(t f)]} with
     * frequencies {@code f_i = exp(-ln(max_period) * i / half)} (float32), a zero column appended
     * for odd {@code dim}.
     *
     * @param timesteps [N] timesteps, float or integer; may be fractional
     * @param dim the output width
     * @param maxPeriod controls the minimum frequency
     * @param repeatOnly when true, returns {@code timesteps} repeated to [N, dim] in its own dtype
     * @return [N, dim]
     */
    public static NDArray timestepEmbedding(NDArray timesteps, int dim, double maxPeriod, boolean repeatOnly) {
        if (timesteps.getShape().dimension() != 1) {
            throw new IllegalArgumentException("timestep_embedding expects timesteps [N], got " + timesteps.getShape());
        }
        if (dim <= 0) {
            throw new IllegalArgumentException("timestep_embedding: dim must be positive, got " + dim);
        }
        long n = timesteps.getShape().get(0);
        if (repeatOnly) {
            // repeat(timesteps, "b -> b d", d=dim): [N] -> [N, dim]
            try (NDArray col = timesteps.reshape(n, 1)) {
                return col.broadcast(new Shape(n, dim)).duplicate();
            }
        }
        NDManager m = timesteps.getManager();
        int half = dim / 2;
        // freqs = exp(-ln(max_period) * arange(half, float32) / half), float32, exp as torch 1.13 computes it
        float negLog = (float) -Math.log(maxPeriod);
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            f[i] = TorchMath.expf((negLog * (float) i) / (float) half);
        }
        NDArray freqs = Tensors.create(m, f).toDevice(timesteps.getDevice(), false);
        // args = t[:, None].float() * freqs[None]  -> [N, half]
        NDArray t32 = timesteps.toType(DataType.FLOAT32, false);
        NDArray tf = t32.reshape(n, 1);
        if (t32 != timesteps) {
            t32.close();
        }
        NDArray args;
        try (NDArray row = freqs.reshape(1, half)) {
            args = tf.mul(row);
        }
        NDList parts = new NDList(args.cos(), args.sin());
        if (dim % 2 == 1) {
            parts.add(m.zeros(new Shape(n, 1), DataType.FLOAT32, timesteps.getDevice()));
        }
        NDArray out = NDArrays.concat(parts, -1);
        parts.close();
        freqs.close();
        tf.close();
        args.close();
        return out;
    }
}
