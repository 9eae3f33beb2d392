package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.diffusionmodules.util.TorchMath;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GroupNorm;

/** Port of the module-level helpers of {@code sgm.modules.diffusionmodules.model}. */
public final class ModelUtil {

    private ModelUtil() {}

    /**
     * Port of {@code get_timestep_embedding} (the DDPM/fairseq convention of the VAE's {@code
     * Model}): frequencies {@code exp(-i * ln(10000) / (half - 1))}, output {@code [sin, cos]},
     * zero-padded for odd {@code embeddingDim}.
     *
     * @param timesteps [N]
     * @param embeddingDim output width
     * @return [N, embeddingDim] float32
     */
    public static NDArray getTimestepEmbedding(NDArray timesteps, int embeddingDim) {
        if (timesteps.getShape().dimension() != 1) {
            throw new IllegalArgumentException(
                    "get_timestep_embedding expects timesteps [N], got " + timesteps.getShape());
        }
        int half = embeddingDim / 2;
        if (half < 2) {
            throw new IllegalArgumentException("get_timestep_embedding needs embedding_dim >= 4, got " + embeddingDim);
        }
        long n = timesteps.getShape().get(0);
        NDManager m = timesteps.getManager();
        double step = Math.log(10000) / (half - 1);
        // exp(arange(half, float32) * -emb) in float32, exp as torch 1.13 computes it
        float negStep = (float) -step;
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            f[i] = TorchMath.expf((float) i * negStep);
        }
        NDArray freqs = Tensors.create(m, f).toDevice(timesteps.getDevice(), false);
        NDArray tf = timesteps.toType(DataType.FLOAT32, false).reshape(n, 1);
        NDArray args = tf.mul(freqs.reshape(1, half));
        NDList parts = new NDList(args.sin(), args.cos());
        if (embeddingDim % 2 == 1) {
            parts.add(m.zeros(new Shape(n, 1), DataType.FLOAT32, timesteps.getDevice()));
        }
        NDArray out = NDArrays.concat(parts, 1);
        parts.close();
        freqs.close();
        tf.close();
        args.close();
        return out;
    }

    /**
     * {@code nonlinearity(x)}: swish, {@code x * sigmoid(x)}.
     *
     * @param x the input
     * @return a new array {@code x * sigmoid(x)} (swish)
     */
    public static NDArray nonlinearity(NDArray x) {
        return F.silu(x);
    }

    /**
     * {@code Normalize(in_channels)}: GroupNorm with 32 groups, eps 1e-6, affine.
     *
     * @param inChannels the number of channels
     * @return a new GroupNorm (eps 1e-6, affine)
     */
    public static GroupNorm normalize(int inChannels) {
        return normalize(inChannels, 32);
    }

    /**
     * {@code Normalize(in_channels, num_groups)}: GroupNorm with eps 1e-6, affine.
     *
     * @param inChannels the number of channels
     * @param numGroups the number of groups
     * @return a new GroupNorm (eps 1e-6, affine)
     */
    public static GroupNorm normalize(int inChannels, int numGroups) {
        return new GroupNorm(numGroups, inChannels, 1e-6, true);
    }
}
