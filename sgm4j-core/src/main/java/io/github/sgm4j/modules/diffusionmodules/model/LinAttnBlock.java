package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code LinAttnBlock} ({@code LinearAttention(dim, heads=1, dim_head=dim)}): keys softmaxed
 * over positions, {@code context = k v^T}, {@code out = context^T q}, then {@code to_out}. Note: as
 * in the reference, the block's output replaces its input (no residual, no norm).
 */
public class LinAttnBlock extends Module implements UnaryModule {

    private final int dim;
    private final Conv2d toQkv;
    private final Conv2d toOut;

    /**
     * {@code LinAttnBlock(in_channels)}.
     *
     * @param inChannels the number of channels (kept)
     */
    public LinAttnBlock(int inChannels) {
        this.dim = inChannels;
        this.toQkv = register("to_qkv", new Conv2d(inChannels, inChannels * 3, 1, 1, 0, 1, false));
        this.toOut = register("to_out", new Conv2d(inChannels, inChannels, 1, 1, 0));
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0);
        long n = s.get(2) * s.get(3);
        try (NDArray qkv = toQkv.forward(x);
                // b (qkv heads c) h w -> qkv b heads c (h w), heads = 1
                NDArray flat = qkv.reshape(b, 3, dim, n);
                NDList parts = flat.split(3, 1);
                NDArray q = parts.get(0).reshape(b, dim, n);
                NDArray k = parts.get(1).reshape(b, dim, n);
                NDArray v = parts.get(2).reshape(b, dim, n);
                NDArray ks = k.softmax(-1);
                // context[b, d, e] = sum_n k[b, d, n] v[b, e, n]
                NDArray context = ks.matMul(v.transpose(0, 2, 1));
                // out[b, e, n] = sum_d context[b, d, e] q[b, d, n]
                NDArray out = context.transpose(0, 2, 1).matMul(q);
                NDArray img = out.reshape(s)) {
            return toOut.forward(img);
        }
    }
}
