package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;

/**
 * The functional ops ({@code torch.nn.functional}) sgm4j's layers are made of.
 *
 * <p>This is the only class that touches DJL engine internals ({@code PtNDArray}, {@code
 * JniUtils}, {@code NDArrayEx}), so the engine boundary stays in one place. Every op returns a new
 * array owned by the manager of its first array argument.
 *
 * <p>Arithmetic with a Java number goes through the scalar ops here ({@link #mul(NDArray, double)},
 * {@link #add(NDArray, double)}, ...), never through DJL's {@code NDArray.mul(Number)} and friends:
 * those wrap the number in an array that borrows a Java buffer, which autograd may save for
 * backward after the buffer is freed (see {@link io.github.sgm4j.engine.Tensors}). The scalar ops
 * use a libtorch-owned 0-d array instead and compute exactly the same numbers: the 0-d array has
 * the dtype of {@code x} when {@code x} is float32 or float64 (libtorch rounds the double to float
 * as Java's {@code (float)} cast does, and a 0-d operand never promotes a dimensioned float array),
 * and float64 otherwise (what DJL made of a {@code Double}).
 *
 * <p>Size: one file on purpose: it is the single engine boundary (the only class touching DJL
 * internals), and each op is a few lines with its Javadoc; splitting by op family would spread
 * that boundary over several classes.
 */
public final class F {

    /** Default upper bound on elements of one attention score matrix before queries are chunked. */
    public static final long DEFAULT_MAX_SCORE_ELEMENTS = 1L << 26;

    private F() {}

    /**
     * Output-channel block of the conv gradient work-around in {@link #conv2d}: with autograd
     * recording, a convolution whose output channels are not a multiple of this runs with its
     * weight padded by zero output channels up to the next multiple, and the extra channels are
     * sliced off.
     */
    public static final int CONV_OUT_CHANNEL_BLOCK = 16;

    /**
     * {@code F.conv2d(x, weight, bias, stride, padding, 1, groups)}; {@code bias} may be null.
     *
     * <p>libtorch 2.7.1's CPU convolution (the build DJL 0.35 ships) computes a wrong input
     * gradient, and with several threads sometimes NaN, for kernels larger than 1x1 whose output
     * channels are not a multiple of 16 (found on an AMD Zen 5 CPU; e.g. the UNet's 32 -> 1 output
     * conv and the VAE's 128 -> 3 {@code conv_out}): the forward and the weight gradient are
     * right. So while autograd records (training), such a convolution runs with its weight (and
     * bias) padded by zero output channels to a multiple of {@link #CONV_OUT_CHANNEL_BLOCK}, and the
     * output is sliced back: same forward values up to float rounding, correct gradients for the
     * input, the weight and the bias (checked against torch 1.13 by {@code ConvGradientTest}).
     * Without autograd (sampling, inference) the plain convolution runs.
     *
     * @param x input [B, C_in, H, W]
     * @param weight [C_out, C_in / groups, kH, kW]
     * @param bias [C_out] or null
     * @param stride stride in both directions
     * @param padding zero padding in both directions
     * @param groups number of groups
     * @return [B, C_out, H_out, W_out], owned by the manager of {@code x}
     */
    public static NDArray conv2d(NDArray x, NDArray weight, NDArray bias, int stride, int padding, int groups) {
        Shape ws = weight.getShape();
        long outChannels = ws.get(0);
        boolean kernelAboveOne = ws.dimension() == 4 && (ws.get(2) > 1 || ws.get(3) > 1);
        if (groups == 1 && kernelAboveOne && outChannels % CONV_OUT_CHANNEL_BLOCK != 0 && JniUtils.isGradMode()) {
            return conv2dPaddedOutChannels(x, weight, bias, stride, padding);
        }
        return conv2dNative(x, weight, bias, stride, padding, groups);
    }

    private static NDArray conv2dNative(NDArray x, NDArray weight, NDArray bias, int stride, int padding, int groups) {
        return JniUtils.convolution(
                (PtNDArray) x,
                (PtNDArray) weight,
                (PtNDArray) bias,
                new Shape(stride, stride),
                new Shape(padding, padding),
                new Shape(1, 1),
                groups);
    }

    private static NDArray conv2dPaddedOutChannels(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape ws = weight.getShape();
        long outChannels = ws.get(0);
        long padded = (outChannels + CONV_OUT_CHANNEL_BLOCK - 1) / CONV_OUT_CHANNEL_BLOCK * CONV_OUT_CHANNEL_BLOCK;
        NDManager m = weight.getManager();
        try (NDArray zw = m.zeros(new Shape(padded - outChannels, ws.get(1), ws.get(2), ws.get(3)),
                        weight.getDataType(), weight.getDevice());
                NDArray wp = weight.concat(zw, 0);
                NDArray zb = bias == null ? null
                        : m.zeros(new Shape(padded - outChannels), bias.getDataType(), bias.getDevice());
                NDArray bp = bias == null ? null : bias.concat(zb, 0);
                NDArray y = conv2dNative(x, wp, bp, stride, padding, 1)) {
            // [B, padded, H, W] -> [B, C_out, H, W]
            return y.get(new NDIndex(":, :" + outChannels));
        }
    }

    /**
     * {@code F.linear(x, weight, bias)}; {@code bias} may be null.
     *
     * @param x input [..., in_features]
     * @param weight [out_features, in_features]
     * @param bias [out_features] or null
     * @return {@code x @ weight^T + bias}, [..., out_features], owned by the manager of {@code x}
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        NDList out = bias == null ? Linear.linear(x, weight) : Linear.linear(x, weight, bias);
        return out.singletonOrThrow();
    }

    /**
     * A new handle on the same data that stays in the autograd graph (a view of {@code x}). Use it
     * wherever a layer returns its input unchanged: DJL's {@code duplicate()} is a detached copy in
     * the PyTorch engine, which would silently cut gradients.
     *
     * @param x any array
     * @return a reshape of {@code x} to its own shape: shares its data and records the autograd edge; the
     *     caller closes it (closing it does not free {@code x})
     */
    public static NDArray alias(NDArray x) {
        return x.reshape(x.getShape());
    }

    /**
     * Correctly rounded elementwise square root of a float32/float16 array (computed in float64,
     * then rounded): libtorch 2.7's CPU {@code sqrt} is off by one ulp for some inputs, where torch
     * 1.13 (the reference) is exact. Float64 input uses the engine's sqrt directly.
     *
     * @param x a floating-point array
     * @return {@code sqrt(x)} elementwise, same shape and dtype, owned by the manager of {@code x}
     */
    public static NDArray sqrtExact(NDArray x) {
        if (x.getDataType() == DataType.FLOAT64) {
            return x.sqrt();
        }
        try (NDArray d = x.toType(DataType.FLOAT64, false);
                NDArray r = d.sqrt()) {
            return r.toType(x.getDataType(), false);
        }
    }

    /**
     * AdamW's in-place update of many float32 parameters in one native call (issue 15: the
     * optimizer's ~16 JNI calls per parameter were most of its time on small models), op for op as
     * {@code optim.AdamW} writes it per parameter: {@code p *= decay}; {@code m = m * beta1 + g *
     * (1 - beta1)}; {@code v = v * beta2 + g * (1 - beta2) * g}; {@code p += m * negStepSize / (
     * sqrtExact(v) / bc2Sqrt + eps)}. Call with autograd disabled.
     *
     * @param params the parameters, updated in place; float32
     * @param grads their gradients, same order and shapes; read
     * @param expAvgs the first moments, same order and shapes, updated in place
     * @param expAvgSqs the second moments, same order and shapes, updated in place
     * @param scalars the 0-d float32 operands in this order: decay, beta1, 1 - beta1, beta2, 1 - beta2,
     *     sqrt(bias correction 2), eps, -step size
     * @return false (nothing updated) when the native module is unavailable in this JVM or an array is
     *     not a float32 PyTorch array: the caller then updates parameter by parameter
     * @throws IllegalArgumentException if the lists differ in length or there are not 8 scalars
     */
    public static boolean adamwUpdate(List<NDArray> params, List<NDArray> grads, List<NDArray> expAvgs,
            List<NDArray> expAvgSqs, NDArray... scalars) {
        if (params.size() != grads.size() || params.size() != expAvgs.size() || params.size() != expAvgSqs.size()
                || scalars.length != 8) {
            throw new IllegalArgumentException("adamwUpdate: " + params.size() + " parameters, " + grads.size()
                    + " gradients, " + expAvgs.size() + " and " + expAvgSqs.size() + " moments, " + scalars.length
                    + " scalars (8 expected)");
        }
        FusedKernels fused = FusedKernels.available();
        if (fused == null) {
            return false;
        }
        for (List<NDArray> list : List.of(params, grads, expAvgs, expAvgSqs, List.of(scalars))) {
            for (NDArray a : list) {
                if (!(a instanceof PtNDArray) || a.getDataType() != DataType.FLOAT32) {
                    return false;
                }
            }
        }
        long updated = fused.adamwUpdate(params, grads, expAvgs, expAvgSqs, scalars);
        if (updated != params.size()) {
            throw new IllegalStateException("adamwUpdate updated " + updated + " of " + params.size() + " parameters");
        }
        return true;
    }

    /**
     * {@code F.silu(x)} = x * sigmoid(x). For float32 input this is torch's fused {@code silu}
     * kernel (one pass; {@code FusedKernels}, issue 15). Otherwise, without autograd recording, the
     * product is written in place into the fresh sigmoid array (one allocation instead of two).
     *
     * @param x any floating-point array
     * @return {@code x * sigmoid(x)}, same shape and dtype, owned by the manager of {@code x}
     */
    public static NDArray silu(NDArray x) {
        FusedKernels fused = FusedKernels.available();
        if (fused != null && x.getDataType() == DataType.FLOAT32 && x instanceof PtNDArray) {
            return fused.silu(x);
        }
        if (!JniUtils.isGradMode()) {
            NDArray s = x.getNDArrayInternal().sigmoid();
            s.muli(x);
            return s;
        }
        try (NDArray s = x.getNDArrayInternal().sigmoid()) {
            return x.mul(s);
        }
    }

    /**
     * {@code F.gelu(x)} with the exact erf form ({@code approximate='none'}).
     *
     * @param x any floating-point array
     * @return {@code x * Phi(x)} (Phi the standard normal CDF), same shape and dtype
     */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /**
     * {@code torch.sigmoid(x)}.
     *
     * @param x any floating-point array
     * @return {@code 1 / (1 + exp(-x))}, same shape and dtype
     */
    public static NDArray sigmoid(NDArray x) {
        return x.getNDArrayInternal().sigmoid();
    }

    /**
     * {@code F.group_norm(x, groups, weight, bias, eps)} over [B, C, *]: mean and biased variance
     * per (sample, group), then the per-channel affine transform. {@code weight}/{@code bias} may
     * be null.
     *
     * <p>With float32 input and both affine parameters this is torch's own {@code group_norm}
     * kernel (the reference's), reached through a TorchScript module ({@code FusedKernels}, issue
     * 15): statistics and the normalise-and-affine pass in one call, autograd recorded as in eager
     * torch. Groups of a single element (where torch's kernel rounds {@code x * rstd - mean * rstd}
     * away from the exact zero) and other inputs (or when that module cannot be loaded) are
     * computed with two native kernels instead of a dozen elementwise ops: the normalisation is
     * {@code layer_norm} without affine over {@code x} viewed as [B*G, N] (its row statistics are
     * exactly the per-(sample, group) mean and biased variance of group norm, the same row-wise
     * moments torch's CPU {@code group_norm} kernel computes; about 3x faster than a training-mode
     * {@code batch_norm} over [1, B*G, N] on UNet feature maps), and the affine transform is
     * {@code batch_norm} in inference mode over [B, C, N] with running mean 0, running variance 1 and
     * eps 0, i.e. {@code y * weight + bias} in one pass. While autograd records (training), with both
     * affine parameters, this form runs inside the TorchScript module as one call (the same aten
     * ops, so the same autograd graph and numbers, without a dozen JNI calls and constant
     * allocations per norm). Groups of a single element and
     * non-float32 inputs use the composed formulation
     * {@link #groupNormComposed}. Both agree with torch's {@code group_norm} to float rounding.
     *
     * @param x input [B, C, *] with C divisible by {@code groups}
     * @param groups number of groups G
     * @param weight per-channel scale [C], or null for none
     * @param bias per-channel shift [C], or null for none
     * @param eps added to the variance
     * @return the normalised array, shape of {@code x}, owned by the manager of {@code x}
     * @throws IllegalArgumentException if C is not divisible by {@code groups}
     */
    public static NDArray groupNorm(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        Shape shape = x.getShape();
        long b = shape.get(0);
        checkGroups(shape, groups);
        if (FusedKernels.groupNormApplies(x, weight, bias) && b > 0 && shape.size() / (b * groups) >= 2) {
            return FusedKernels.available().groupNorm(x, groups, weight, bias, eps);
        }
        long perGroup = shape.size() / (b * groups);
        if (perGroup < 2 || x.getDataType() != DataType.FLOAT32 || b * groups == 0) {
            return groupNormComposed(x, groups, weight, bias, eps);
        }
        if (FusedKernels.groupNormLayerBatchApplies(x, weight, bias)) {
            return FusedKernels.available().groupNormLayerBatch(x, groups, weight, bias, eps);
        }
        return groupNormLayerBatch(x, groups, weight, bias, eps);
    }

    /**
     * The layer-norm/batch-norm form of {@link #groupNorm}, one JNI call per aten op: float32 input
     * with at least two elements per group. {@code FusedKernels.groupNormLayerBatch} makes the same
     * calls inside the TorchScript module (tested bit for bit against this).
     */
    static NDArray groupNormLayerBatch(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        Shape shape = x.getShape();
        long b = shape.get(0);
        long c = shape.get(1);
        long perGroup = shape.size() / (b * groups);
        NDManager m = x.getManager();
        long rows = b * groups;
        NDArray normed;
        // [B, C, *] -> [B*G, C/G * prod(*)]: row statistics per (sample, group)
        try (NDArray g = x.reshape(rows, perGroup);
                NDArray unitW = m.ones(new Shape(perGroup), DataType.FLOAT32, x.getDevice());
                NDArray zeroB = m.zeros(new Shape(perGroup), DataType.FLOAT32, x.getDevice())) {
            normed = JniUtils.layerNorm((PtNDArray) g, new Shape(perGroup), (PtNDArray) unitW, (PtNDArray) zeroB, eps);
        }
        if (weight == null && bias == null) {
            try (normed) {
                return normed.reshape(shape);
            }
        }
        // per-channel affine over [B, C, N]: (y - 0) / sqrt(1 + 0) * weight + bias
        try (NDArray y = normed.reshape(b, c, -1);
                NDArray zeroMean = m.zeros(new Shape(c), DataType.FLOAT32, x.getDevice());
                NDArray unitVar = m.ones(new Shape(c), DataType.FLOAT32, x.getDevice());
                NDArray w = weight != null ? null : m.ones(new Shape(c), DataType.FLOAT32, x.getDevice());
                NDArray bb = bias != null ? null : m.zeros(new Shape(c), DataType.FLOAT32, x.getDevice());
                NDArray affine = JniUtils.batchNorm((PtNDArray) y, (PtNDArray) zeroMean, (PtNDArray) unitVar,
                        (PtNDArray) (weight != null ? weight : w), (PtNDArray) (bias != null ? bias : bb), false, 0.0, 0.0)) {
            normed.close();
            return affine.reshape(shape);
        }
    }

    /**
     * {@code silu(group_norm(x, groups, weight, bias, eps))}: the GroupNorm-then-SiLU pair of
     * openaimodel's {@code in_layers}/{@code out_layers} and the autoencoders' blocks. With float32
     * input and both affine parameters it is torch's {@code group_norm} kernel followed by an
     * in-place {@code silu_} on its fresh output in one call (see {@link #groupNorm}); otherwise
     * {@link #groupNorm} then {@link #silu}.
     *
     * @param x input [B, C, *] with C divisible by {@code groups}
     * @param groups number of groups G
     * @param weight per-channel scale [C], or null for none
     * @param bias per-channel shift [C], or null for none
     * @param eps added to the variance
     * @return the activated normalised array, shape of {@code x}, owned by the manager of {@code x}
     * @throws IllegalArgumentException if C is not divisible by {@code groups}
     */
    public static NDArray groupNormSilu(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        Shape shape = x.getShape();
        checkGroups(shape, groups);
        long b = shape.get(0);
        boolean twoPerGroup = b > 0 && shape.size() / (b * groups) >= 2;
        if (twoPerGroup && FusedKernels.groupNormApplies(x, weight, bias)) {
            return FusedKernels.available().groupNormSilu(x, groups, weight, bias, eps);
        }
        if (twoPerGroup && FusedKernels.groupNormLayerBatchApplies(x, weight, bias)) {
            return FusedKernels.available().groupNormLayerBatchSilu(x, groups, weight, bias, eps);
        }
        try (NDArray n = groupNorm(x, groups, weight, bias, eps)) {
            return silu(n);
        }
    }

    /** The channel count of a group-norm input [B, C, *], checked to be divisible by {@code groups}. */
    private static long checkGroups(Shape shape, int groups) {
        long c = shape.get(1);
        if (c % groups != 0) {
            throw new IllegalArgumentException(
                    "group_norm: channels (" + c + ") must be divisible by groups (" + groups + "), input " + shape);
        }
        return c;
    }

    /**
     * The composed formulation of {@link #groupNorm}: row-wise moments from libtorch's fused {@code
     * layer_norm} over the [B, G, C/G * prod(*)] view, then the per-channel affine (in place when no
     * autograd graph is recorded). The fallback for single-element groups and non-float32 inputs, and
     * the definition the fused path is tested against.
     *
     * @param x input [B, C, *] with C divisible by {@code groups}
     * @param groups number of groups G
     * @param weight per-channel scale [C], or null for none
     * @param bias per-channel shift [C], or null for none
     * @param eps added to the variance
     * @return the normalised array, shape of {@code x}, owned by the manager of {@code x}
     * @throws IllegalArgumentException if C is not divisible by {@code groups}
     */
    public static NDArray groupNormComposed(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        Shape shape = x.getShape();
        long b = shape.get(0);
        long c = checkGroups(shape, groups);
        // [B, C, *] -> [B, G, C/G * prod(*)]
        long rowLen = shape.size() / (b * groups);
        NDArray normed;
        try (NDArray g = x.reshape(b, groups, rowLen);
                NDArray n = layerNorm(g, new Shape(rowLen), null, null, eps)) {
            normed = n.reshape(shape);
        }
        if (weight == null && bias == null) {
            return normed;
        }
        // per-channel affine: weight/bias [C] -> [1, C, 1, ...]
        long[] bshape = new long[shape.dimension()];
        java.util.Arrays.fill(bshape, 1);
        bshape[1] = c;
        Shape affine = new Shape(bshape);
        boolean inPlace = !JniUtils.isGradMode()
                && (weight == null || weight.getDataType() == normed.getDataType())
                && (bias == null || bias.getDataType() == normed.getDataType());
        NDArray out = normed;
        if (weight != null) {
            try (NDArray w = weight.reshape(affine)) {
                if (inPlace) {
                    out.muli(w);
                } else {
                    out = normed.mul(w);
                    normed.close();
                }
            }
        }
        if (bias != null) {
            try (NDArray bb = bias.reshape(affine)) {
                if (inPlace) {
                    out.addi(bb);
                } else {
                    NDArray prev = out;
                    out = prev.add(bb);
                    prev.close();
                }
            }
        }
        return out;
    }

    /**
     * {@code F.layer_norm(x, normalized_shape, weight, bias, eps)}; weight/bias may be null.
     *
     * @param x input [..., *normalizedShape]
     * @param normalizedShape the trailing dimensions normalised together
     * @param weight scale of {@code normalizedShape}, or null for ones
     * @param bias shift of {@code normalizedShape}, or null for zeros
     * @param eps added to the variance
     * @return the normalised array, shape of {@code x}, owned by the manager of {@code x}
     */
    public static NDArray layerNorm(NDArray x, Shape normalizedShape, NDArray weight, NDArray bias, double eps) {
        NDManager m = x.getManager();
        NDArray w = weight != null ? weight : m.ones(normalizedShape, x.getDataType(), x.getDevice());
        NDArray bb = bias != null ? bias : m.zeros(normalizedShape, x.getDataType(), x.getDevice());
        NDArray out = LayerNorm.layerNorm(x, normalizedShape, w, bb, (float) eps).singletonOrThrow();
        if (weight == null) {
            w.close();
        }
        if (bias == null) {
            bb.close();
        }
        return out;
    }

    /**
     * {@code F.embedding(indices, weight)}: rows of {@code weight} for int64 indices.
     *
     * @param indices integer indices of any shape, each in [0, num_embeddings); converted to int64 if needed
     * @param weight the table [num_embeddings, dim]
     * @return [*indices.shape, dim], owned by the manager of {@code indices}
     */
    public static NDArray embedding(NDArray indices, NDArray weight) {
        NDArray idx = indices.getDataType() == DataType.INT64 ? indices : indices.toType(DataType.INT64, false);
        NDArray out = Embedding.embedding(idx, weight, SparseFormat.DENSE).singletonOrThrow();
        if (idx != indices) {
            idx.close();
        }
        return out;
    }

    /**
     * {@code torch.softmax(x, dim)}.
     *
     * @param x the input
     * @param dim the dimension normalised to sum 1 (negative counts from the end)
     * @return {@code exp(x) / sum(exp(x), dim)}, same shape as {@code x}
     */
    public static NDArray softmax(NDArray x, int dim) {
        return x.softmax(dim);
    }

    /**
     * Softmax attention {@code softmax(q @ k^T * scale) @ v} over [..., L, D] inputs (the math of
     * {@code F.scaled_dot_product_attention} without mask).
     *
     * <p>When the score matrix {@code [..., Lq, Lk]} would hold more than {@code maxScoreElements}
     * elements (SD's self-attention at 512x512 and above), the full matrix is never formed: without
     * autograd recording, for float32 input, libtorch's fused {@code scaled_dot_product_attention}
     * runs ({@link #attentionFused}: 2x faster than query chunks at 16 384 tokens, memory of the
     * order of the output; within float rounding of this formula, issue 15); otherwise (training,
     * other dtypes, the TorchScript module unavailable) queries are processed in chunks ({@link
     * #attentionChunked}), each query row computed exactly as in the unchunked path.
     *
     * @param q queries [..., Lq, D]
     * @param k keys [..., Lk, D]
     * @param v values [..., Lk, Dv]
     * @param scale the factor applied to {@code q @ k^T} (usually {@code D^-0.5})
     * @param maxScoreElements chunking threshold; {@code <= 0} disables chunking
     * @return [..., Lq, Dv]
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, double scale, long maxScoreElements) {
        ScoreShape sc = ScoreShape.of(q, k);
        if (maxScoreElements <= 0 || sc.batch() * sc.lq() * sc.lk() <= maxScoreElements) {
            int rank = sc.rank();
            try (NDArray kt = k.swapAxes(rank - 2, rank - 1)) {
                return attentionBlock(q, kt, v, scale);
            }
        }
        if (FusedKernels.attentionApplies(q, k, v)) {
            return FusedKernels.available().attention(q, k, v, scale);
        }
        return attentionChunked(q, k, v, scale, maxScoreElements);
    }

    /**
     * libtorch's fused {@code scaled_dot_product_attention(q, k, v, scale=scale)} (no mask, no
     * dropout), the path {@link #attention} takes above its threshold without autograd: on the CPU
     * its flash kernel works through blocks of queries and keys with a running softmax, so it never
     * holds the score matrix; it sums in another order than {@code softmax(q @ k^T * scale) @ v}
     * (agreement within float rounding, tested against the golden UNet cases).
     *
     * @param q queries [N, Lq, D] or [B, H, Lq, D], float32
     * @param k keys, same rank, [.., Lk, D]
     * @param v values, same rank, [.., Lk, Dv]
     * @param scale the factor applied to the scores
     * @return [..., Lq, Dv]
     * @throws IllegalStateException if autograd records, the inputs are not float32 arrays of rank 3
     *     or 4, or the TorchScript module is unavailable in this JVM
     */
    public static NDArray attentionFused(NDArray q, NDArray k, NDArray v, double scale) {
        if (!FusedKernels.attentionApplies(q, k, v)) {
            throw new IllegalStateException("fused attention needs autograd off, float32 q/k/v of rank 3 or 4 and the "
                    + "TorchScript module (fused_ops.pt); got " + q.getShape() + " " + q.getDataType()
                    + (JniUtils.isGradMode() ? " with autograd recording" : ""));
        }
        return FusedKernels.available().attention(q, k, v, scale);
    }

    /**
     * {@link #attention} by chunks of query rows, so that no chunk's score matrix exceeds {@code
     * maxScoreElements} elements; each row is computed exactly as in the unchunked formula (the path
     * while autograd records, or where the fused kernel does not apply).
     *
     * @param q queries [..., Lq, D]
     * @param k keys [..., Lk, D]
     * @param v values [..., Lk, Dv]
     * @param scale the factor applied to {@code q @ k^T}
     * @param maxScoreElements score elements per chunk, at least 1
     * @return [..., Lq, Dv]
     */
    public static NDArray attentionChunked(NDArray q, NDArray k, NDArray v, double scale, long maxScoreElements) {
        ScoreShape sc = ScoreShape.of(q, k);
        int rank = sc.rank();
        long lq = sc.lq();
        try (NDArray kt = k.swapAxes(rank - 2, rank - 1)) {
            long rows = Math.max(1, maxScoreElements / (sc.batch() * sc.lk()));
            NDList parts = new NDList();
            String prefix = rank > 2 ? "..., " : "";
            for (long start = 0; start < lq; start += rows) {
                long end = Math.min(lq, start + rows);
                try (NDArray qc = q.get(new NDIndex(prefix + start + ":" + end + ", :"))) {
                    parts.add(attentionBlock(qc, kt, v, scale));
                }
            }
            NDArray out = NDArrays.concat(parts, rank - 2);
            parts.close();
            return out;
        }
    }

    /** The score matrix of {@code q @ k^T} over [..., L, D] inputs: rank, query and key lengths, leading elements. */
    private record ScoreShape(int rank, long lq, long lk, long batch) {
        static ScoreShape of(NDArray q, NDArray k) {
            Shape qs = q.getShape();
            int rank = qs.dimension();
            long lq = qs.get(rank - 2);
            return new ScoreShape(rank, lq, k.getShape().get(rank - 2), qs.size() / (lq * qs.get(rank - 1)));
        }
    }

    private static NDArray attentionBlock(NDArray q, NDArray kt, NDArray v, double scale) {
        if (!JniUtils.isGradMode()) {
            // no autograd recording: scale the fresh score matrix in place (same op, one allocation less)
            try (NDArray s = q.matMul(kt)) {
                muli(s, scale);
                try (NDArray p = s.softmax(-1)) {
                    return p.matMul(v);
                }
            }
        }
        try (NDArray s = q.matMul(kt);
                NDArray scaled = mul(s, scale);
                NDArray p = scaled.softmax(-1)) {
            return p.matMul(v);
        }
    }

    /**
     * {@code F.interpolate(x, scale_factor=2, mode='nearest')} over [B, C, H, W]: libtorch's nearest
     * interpolation kernel (one pass; bit-identical to repeating rows and columns, {@link
     * #upsampleNearest2xRepeat}).
     *
     * @param x input [B, C, H, W]
     * @return [B, C, 2H, 2W], owned by the manager of {@code x}
     * @throws IllegalArgumentException if {@code x} is not 4-d
     */
    public static NDArray upsampleNearest2x(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("upsample_nearest2x expects [B, C, H, W], got " + s);
        }
        // mode 0: nearest
        return JniUtils.interpolate((PtNDArray) x, new long[] {2 * s.get(2), 2 * s.get(3)}, 0, false);
    }

    /**
     * Nearest x2 upsampling by repeating rows then columns (the definition {@link #upsampleNearest2x} is
     * tested against).
     *
     * @param x input [B, C, H, W]
     * @return [B, C, 2H, 2W], owned by the manager of {@code x}
     */
    public static NDArray upsampleNearest2xRepeat(NDArray x) {
        try (NDArray h = x.repeat(2, 2)) {
            return h.repeat(3, 2);
        }
    }

    /**
     * {@code F.pad(x, pad, value=value)} with torch's argument order: pairs from the last dimension
     * backwards, e.g. {@code (0, 1, 0, 1)} pads W right and H bottom by one.
     *
     * @param x the input
     * @param pad (left, right) amounts per dimension, last dimension first; an even number of entries, at
     *     most two per dimension of {@code x}
     * @param value the fill value of the padding
     * @return the padded array, owned by the manager of {@code x}
     * @throws IllegalArgumentException if {@code pad} has an odd length or more pairs than {@code x} has
     *     dimensions
     */
    public static NDArray pad(NDArray x, long[] pad, double value) {
        if (pad.length % 2 != 0 || pad.length / 2 > x.getShape().dimension()) {
            throw new IllegalArgumentException("pad: invalid padding " + java.util.Arrays.toString(pad));
        }
        return JniUtils.pad((PtNDArray) x, pad, value);
    }

    /**
     * {@code F.avg_pool2d(x, kernel, stride)} (no padding, count_include_pad=True).
     *
     * @param x input [B, C, H, W]
     * @param kernel the square window size
     * @param stride the stride in both directions
     * @return [B, C, floor((H - kernel) / stride) + 1, floor((W - kernel) / stride) + 1]
     */
    public static NDArray avgPool2d(NDArray x, int kernel, int stride) {
        return Pool.avgPool2d(x, new Shape(kernel, kernel), new Shape(stride, stride), new Shape(0, 0), false, true);
    }

    /**
     * {@code F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceilMode)} over [B, C, H, W]
     * (dilation 1).
     *
     * @param x the input [B, C, H, W]
     * @param kernel the square window size
     * @param stride the stride
     * @param padding implicit negative-infinity padding on each side
     * @param ceilMode whether the output size rounds up
     * @return the pooled array
     */
    public static NDArray maxPool2d(NDArray x, int kernel, int stride, int padding, boolean ceilMode) {
        return JniUtils.maxPool((PtNDArray) x, new Shape(kernel, kernel), new Shape(stride, stride),
                new Shape(padding, padding), ceilMode);
    }

    /**
     * {@code F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)}.
     * In training mode libtorch normalises with the batch statistics (biased variance) and, when
     * running buffers are given, updates them in place: {@code running = (1 - momentum) * running +
     * momentum * batch} with the unbiased batch variance, as torch does.
     *
     * @param x the input [B, C, *]
     * @param runningMean running mean [C] (updated in place in training mode)
     * @param runningVar running variance [C] (updated in place in training mode)
     * @param weight per-channel scale [C]
     * @param bias per-channel shift [C]
     * @param training use batch statistics and update the running buffers
     * @param momentum the running-average factor
     * @param eps the variance epsilon
     * @return the normalised array
     */
    public static NDArray batchNorm(NDArray x, NDArray runningMean, NDArray runningVar, NDArray weight, NDArray bias,
            boolean training, double momentum, double eps) {
        // DJL's Java parameter names are shifted: the native order is (input, running_mean, running_var, weight, bias)
        return JniUtils.batchNorm((PtNDArray) x, (PtNDArray) runningMean, (PtNDArray) runningVar, (PtNDArray) weight,
                (PtNDArray) bias, training, momentum, eps);
    }

    /**
     * {@code F.relu(x)}.
     *
     * @param x the input
     * @return {@code max(x, 0)}, same shape and dtype
     */
    public static NDArray relu(NDArray x) {
        return JniUtils.relu((PtNDArray) x);
    }

    /**
     * {@code F.leaky_relu(x, slope)}.
     *
     * @param x the input
     * @param slope the factor applied to negative inputs
     * @return {@code x} where {@code x >= 0}, {@code slope * x} elsewhere; same shape and dtype
     */
    public static NDArray leakyRelu(NDArray x, double slope) {
        return JniUtils.leakyRelu((PtNDArray) x, slope);
    }

    /**
     * {@code F.softplus(x)} (beta 1, threshold 20).
     *
     * @param x the input
     * @return {@code log(1 + exp(x))} (linear above 20), same shape and dtype
     */
    public static NDArray softplus(NDArray x) {
        return JniUtils.softPlus((PtNDArray) x);
    }

    /**
     * {@code output.backward(retain_graph=retainGraph)} for a 0-d (or any) output with an all-ones
     * seed gradient: gradients accumulate into {@code .grad} of every leaf that requires grad.
     *
     * @param output the array to differentiate
     * @param retainGraph keep the graph for another backward pass
     */
    public static void backward(NDArray output, boolean retainGraph) {
        try (NDArray seed = output.onesLike()) {
            JniUtils.backward((PtNDArray) output, (PtNDArray) seed, retainGraph, false);
        }
    }

    /**
     * {@code F.dropout(x, p, training)}: in training mode each element is kept with probability
     * {@code 1-p} (a {@code bernoulli} draw from {@code noise}) and scaled by {@code 1/(1-p)}.
     *
     * @param x the input
     * @param p the drop probability in [0, 1]
     * @param training when false the op is the identity
     * @param noise the source of the keep-mask draw (used only in training mode with {@code 0 < p < 1})
     * @return the masked and rescaled input, or an {@link #alias} of {@code x} when not training or {@code p
     *     == 0}; owned by the manager of {@code x}
     * @throws IllegalArgumentException if {@code p} is outside [0, 1]
     */
    public static NDArray dropout(NDArray x, double p, boolean training, NoiseSource noise) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        }
        if (!training || p == 0) {
            return alias(x);
        }
        if (p == 1) {
            return x.zerosLike();
        }
        try (NDArray ones = x.onesLike();
                NDArray keep = mul(ones, 1 - p);
                NDArray mask = noise.bernoulli(keep);
                NDArray kept = x.mul(mask)) {
            return div(kept, 1 - p);
        }
    }

    /**
     * Zeroes the gradient accumulated on {@code param} ({@code p.grad.zero_()}); no-op without one.
     *
     * @param param a leaf array (typically a parameter's array)
     */
    public static void zeroGrad(NDArray param) {
        if (param.hasGradient()) {
            JniUtils.zeroGrad((PtNDArray) param);
        }
    }

    /**
     * Enables or disables autograd recording on the calling thread ({@code torch.set_grad_enabled});
     * returns the previous mode. Gradient mode is per thread in libtorch.
     *
     * @param enabled whether autograd records operations from now on
     * @return the previous mode, to restore later
     */
    public static boolean setGradEnabled(boolean enabled) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        return previous;
    }

    /**
     * Seeds libtorch's default generator ({@code torch.manual_seed}) with a 64-bit seed. Seeded
     * noise sources ({@link io.github.sgm4j.noise.TorchNoiseSource}) are not disturbed: each restores
     * its own stream before its next draw.
     *
     * @param seed the seed
     */
    public static void manualSeed(long seed) {
        io.github.sgm4j.noise.TorchNoiseSource.manualSeed(seed);
    }

    // ---- scalar arithmetic with libtorch-owned 0-d operands ----

    /** The libtorch-owned 0-d operand for a scalar op on {@code x} (see the class comment for its dtype). */
    /**
     * The 0-d operand of {@code x op v}: {@code v} in the dtype of {@code x} (float64 for
     * non-float {@code x}, and for a finite float32 value beyond float32's range, which the op then
     * turns into +-inf as torch does).
     *
     * @param x the array the operand combines with
     * @param v the value
     * @return a new libtorch-owned 0-d array on the manager and device of {@code x}
     */
    public static NDArray scalarFor(NDArray x, double v) {
        DataType t = x.getDataType();
        DataType st = t == DataType.FLOAT32 || t == DataType.FLOAT64 ? t : DataType.FLOAT64;
        if (st == DataType.FLOAT32 && Double.isFinite(v) && Math.abs(v) > Float.MAX_VALUE) {
            // torch.full refuses a float32 fill it cannot represent; a float64 0-d operand is
            // converted to the tensor's dtype inside the op (to +-inf), as torch does for x * v
            st = DataType.FLOAT64;
        }
        return Tensors.scalar(x, v, st);
    }

    /**
     * {@code x + v}.
     *
     * @param x the array
     * @param v the scalar
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray add(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.add(s);
        }
    }

    /**
     * {@code x - v}.
     *
     * @param x the array
     * @param v the scalar
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray sub(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.sub(s);
        }
    }

    /**
     * {@code v - x}.
     *
     * @param v the scalar
     * @param x the array
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray rsub(double v, NDArray x) {
        try (NDArray s = scalarFor(x, v)) {
            return s.sub(x);
        }
    }

    /**
     * {@code x * v}.
     *
     * @param x the array
     * @param v the scalar
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray mul(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.mul(s);
        }
    }

    /**
     * {@code x / v}.
     *
     * @param x the array
     * @param v the scalar divisor
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray div(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.div(s);
        }
    }

    /**
     * {@code v / x}.
     *
     * @param v the scalar dividend
     * @param x the array
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray rdiv(double v, NDArray x) {
        try (NDArray s = scalarFor(x, v)) {
            return s.div(x);
        }
    }

    /**
     * {@code x ** v}.
     *
     * @param x the base array
     * @param v the scalar exponent
     * @return a new array owned by the manager of {@code x}
     */
    public static NDArray pow(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.pow(s);
        }
    }

    /**
     * {@code torch.maximum(x, v)}.
     *
     * @param x the array
     * @param v the scalar
     * @return the elementwise maximum, a new array owned by the manager of {@code x}
     */
    public static NDArray maximum(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.maximum(s);
        }
    }

    /**
     * {@code torch.minimum(x, v)}.
     *
     * @param x the array
     * @param v the scalar
     * @return the elementwise minimum, a new array owned by the manager of {@code x}
     */
    public static NDArray minimum(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.minimum(s);
        }
    }

    /**
     * {@code x > v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray gt(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.gt(s);
        }
    }

    /**
     * {@code x >= v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray gte(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.gte(s);
        }
    }

    /**
     * {@code x < v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray lt(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.lt(s);
        }
    }

    /**
     * {@code x <= v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray lte(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.lte(s);
        }
    }

    /**
     * {@code x == v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray eq(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.eq(s);
        }
    }

    /**
     * {@code x != v} (boolean).
     *
     * @param x the array
     * @param v the scalar
     * @return a boolean array of the shape of {@code x}
     */
    public static NDArray neq(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.neq(s);
        }
    }

    /**
     * In place {@code x += v}; returns {@code x}.
     *
     * @param x the array, modified in place (must not be a leaf that requires grad)
     * @param v the scalar
     * @return {@code x}
     */
    public static NDArray addi(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.addi(s);
        }
    }

    /**
     * In place {@code x -= v}; returns {@code x}.
     *
     * @param x the array, modified in place (must not be a leaf that requires grad)
     * @param v the scalar
     * @return {@code x}
     */
    public static NDArray subi(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.subi(s);
        }
    }

    /**
     * In place {@code x *= v}; returns {@code x}.
     *
     * @param x the array, modified in place (must not be a leaf that requires grad)
     * @param v the scalar
     * @return {@code x}
     */
    public static NDArray muli(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.muli(s);
        }
    }

    /**
     * In place {@code x /= v}; returns {@code x}.
     *
     * @param x the array, modified in place (must not be a leaf that requires grad)
     * @param v the scalar divisor
     * @return {@code x}
     */
    public static NDArray divi(NDArray x, double v) {
        try (NDArray s = scalarFor(x, v)) {
            return x.divi(s);
        }
    }
}
