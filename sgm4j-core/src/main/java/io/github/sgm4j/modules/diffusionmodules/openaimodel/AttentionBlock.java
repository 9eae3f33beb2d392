package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GroupNorm32;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of openaimodel's {@code AttentionBlock}: spatial self-attention over the flattened
 * positions, {@code norm} (GroupNorm32), {@code qkv} and zero-initialised {@code proj_out} as 1-D
 * 1x1 convolutions (weights [C', C, 1]), with the legacy ({@code QKVAttentionLegacy}: split heads,
 * then q/k/v) or new ({@code QKVAttention}: split q/k/v, then heads) channel order.
 */
public class AttentionBlock extends Module implements UnaryModule {

    private final int channels;
    private final int numHeads;
    private final boolean newOrder;
    private final GroupNorm32 norm;
    private final Conv1x1 qkv;
    private final Conv1x1 projOut;

    /**
     * {@code AttentionBlock(channels, num_heads, num_head_channels, use_new_attention_order)}.
     *
     * @param channels the number of input channels
     * @param numHeads the number of heads (used when {@code numHeadChannels} is -1)
     * @param numHeadChannels the channels per head, or -1 to use {@code numHeads}
     * @param useNewAttentionOrder split heads before q/k/v ({@code QKVAttention}) instead of after ({@code
     *     QKVAttentionLegacy})
     */
    public AttentionBlock(int channels, int numHeads, int numHeadChannels, boolean useNewAttentionOrder) {
        this.channels = channels;
        if (numHeadChannels == -1) {
            this.numHeads = numHeads;
        } else {
            if (channels % numHeadChannels != 0) {
                throw new IllegalArgumentException("q,k,v channels " + channels
                        + " is not divisible by num_head_channels " + numHeadChannels);
            }
            this.numHeads = channels / numHeadChannels;
        }
        if (this.numHeads <= 0) {
            throw new IllegalArgumentException("AttentionBlock: number of heads must be positive, got " + this.numHeads);
        }
        this.newOrder = useNewAttentionOrder;
        this.norm = register("norm", GroupNorm32.normalization(channels));
        this.qkv = register("qkv", new Conv1x1(channels, channels * 3));
        this.projOut = register("proj_out", zeroModule(new Conv1x1(channels, channels)));
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0);
        long c = s.get(1);
        if (c != channels) {
            throw new IllegalArgumentException("AttentionBlock expects " + channels + " channels, got " + s);
        }
        try (NDArray flat = x.reshape(b, c, -1);
                NDArray n = norm.forward(flat);
                NDArray qkvOut = qkv.forward(n);
                NDArray h = attention(qkvOut);
                NDArray p = projOut.forward(h);
                NDArray sum = flat.add(p)) {
            return sum.reshape(s);
        }
    }

    private NDArray attention(NDArray qkvOut) {
        long bs = qkvOut.getShape().get(0);
        long width = qkvOut.getShape().get(1);
        long length = qkvOut.getShape().get(2);
        long ch = width / (3L * numHeads);
        double scale = 1 / Math.sqrt(Math.sqrt(ch));
        NDArray q;
        NDArray k;
        NDArray v;
        if (!newOrder) {
            // [N, H*3*C, T] -> [N*H, 3*C, T] -> q, k, v
            try (NDArray r = qkvOut.reshape(bs * numHeads, ch * 3, length);
                    NDList parts = r.split(3, 1)) {
                q = io.github.sgm4j.nn.F.alias(parts.get(0));
                k = io.github.sgm4j.nn.F.alias(parts.get(1));
                v = io.github.sgm4j.nn.F.alias(parts.get(2));
            }
        } else {
            try (NDList parts = qkvOut.split(3, 1)) {
                q = parts.get(0).reshape(bs * numHeads, ch, length);
                k = parts.get(1).reshape(bs * numHeads, ch, length);
                v = parts.get(2).reshape(bs * numHeads, ch, length);
            }
        }
        try (q;
                k;
                v;
                NDArray qs = F.mul(q, scale);
                NDArray ks = F.mul(k, scale);
                NDArray qt = qs.transpose(0, 2, 1);
                // einsum("bct,bcs->bts")
                NDArray weight = qt.matMul(ks);
                NDArray soft = weight.softmax(-1);
                NDArray softT = soft.transpose(0, 2, 1);
                // einsum("bts,bcs->bct")
                NDArray a = v.matMul(softT)) {
            return a.reshape(bs, -1, length);
        }
    }

    /** {@code conv_nd(1, in, out, 1)}: a 1-D convolution with kernel 1 (weight [out, in, 1]). */
    static final class Conv1x1 extends Module implements UnaryModule {
        private final io.github.sgm4j.nn.Parameter weight;
        private final io.github.sgm4j.nn.Parameter bias;

        Conv1x1(int in, int out) {
            double bound = 1.0 / Math.sqrt(in);
            weight = parameter("weight", new Shape(out, in, 1), io.github.sgm4j.nn.Init.uniform(bound));
            bias = parameter("bias", new Shape(out), io.github.sgm4j.nn.Init.uniform(bound));
        }

        @Override
        public NDArray forward(NDArray x) {
            // [B, C, T] -> [B, T, C] @ W^T -> [B, T, O] -> [B, O, T]
            Shape ws = weight.getShape();
            try (NDArray xt = x.transpose(0, 2, 1);
                    NDArray w = weight.getArray().reshape(ws.get(0), ws.get(1));
                    NDArray y = io.github.sgm4j.nn.F.linear(xt, w, bias.getArray())) {
                return y.transpose(0, 2, 1);
            }
        }
    }
}
