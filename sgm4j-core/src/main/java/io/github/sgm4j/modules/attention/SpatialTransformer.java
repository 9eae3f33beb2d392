package io.github.sgm4j.modules.attention;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.GroupNorm;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of {@code sgm.modules.attention.SpatialTransformer} (and ldm's): {@code norm} (GroupNorm 32,
 * eps 1e-6), {@code proj_in} (1x1 conv, or linear with {@code use_linear}), {@code
 * transformer_blocks}, {@code proj_out} (zero-initialised), plus the input as residual.
 */
public class SpatialTransformer extends Module {

    private final int inChannels;
    private final boolean useLinear;
    private final GroupNorm norm;
    private final Module projIn;
    private final ModuleList<BasicTransformerBlock> transformerBlocks;
    private final Module projOut;

    /**
     * {@code SpatialTransformer(in_channels, n_heads, d_head, depth, dropout, context_dim,
     * disable_self_attn, use_linear)}.
     *
     * @param contextDims one context width per block (a single value is repeated over the depth), or
     *     null for self-attention only
     * @param inChannels the number of channels (kept)
     * @param nHeads the number of attention heads
     * @param dHead the channels per attention head
     * @param depth the number of transformer blocks
     * @param dropout the dropout probability (0 disables it)
     * @param disableSelfAttn whether the first attention is a cross-attention to the context instead of
     *     self-attention
     * @param useLinear whether the in/out projections are linear layers instead of 1x1 convolutions
     */
    public SpatialTransformer(int inChannels, int nHeads, int dHead, int depth, double dropout,
            List<Integer> contextDims, boolean disableSelfAttn, boolean useLinear) {
        if (depth < 1) {
            throw new IllegalArgumentException("SpatialTransformer: depth must be >= 1, got " + depth);
        }
        List<Integer> ctx = new ArrayList<>();
        if (contextDims == null || contextDims.isEmpty()) {
            for (int i = 0; i < depth; i++) {
                ctx.add(null);
            }
        } else if (contextDims.size() != depth) {
            for (Integer c : contextDims) {
                if (!c.equals(contextDims.get(0))) {
                    throw new IllegalArgumentException("SpatialTransformer: context dims " + contextDims
                            + " do not match depth " + depth + " and are not homogeneous");
                }
            }
            for (int i = 0; i < depth; i++) {
                ctx.add(contextDims.get(0));
            }
        } else {
            ctx.addAll(contextDims);
        }
        this.inChannels = inChannels;
        this.useLinear = useLinear;
        int inner = nHeads * dHead;
        this.norm = register("norm", new GroupNorm(32, inChannels, 1e-6));
        this.projIn = register("proj_in", useLinear ? new Linear(inChannels, inner) : new Conv2d(inChannels, inner, 1, 1, 0));
        this.transformerBlocks = register("transformer_blocks", new ModuleList<>());
        for (int d = 0; d < depth; d++) {
            transformerBlocks.add(new BasicTransformerBlock(inner, nHeads, dHead, dropout, ctx.get(d), true, disableSelfAttn));
        }
        this.projOut = register("proj_out", zeroModule(useLinear ? new Linear(inner, inChannels)
                : new Conv2d(inner, inChannels, 1, 1, 0)));
    }

    /**
     * Sets the query-chunking threshold of every attention.
     *
     * @param maxScoreElements the largest attention score matrix, in elements, computed in one piece (larger
     *     ones are chunked over queries)
     */
    public void setMaxScoreElements(long maxScoreElements) {
        for (BasicTransformerBlock b : transformerBlocks.items()) {
            b.setMaxScoreElements(maxScoreElements);
        }
    }

    /**
     * @param x [B, C, H, W]
     * @param context one context [B, M, D] (or null), used by every block
     * @return [B, C, H, W]
     */
    public NDArray forward(NDArray x, NDArray context) {
        return forward(x, context == null ? null : List.of(context));
    }

    /**
     * @param x [B, C, H, W]
     * @param contexts per-block contexts (a single one is reused by every block), or null
     * @return [B, C, H, W]
     */
    public NDArray forward(NDArray x, List<NDArray> contexts) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != inChannels) {
            throw new IllegalArgumentException("SpatialTransformer expects [B, " + inChannels + ", H, W], got " + s);
        }
        long b = s.get(0);
        long c = s.get(1);
        long h = s.get(2);
        long w = s.get(3);
        NDArray t;
        try (NDArray n = norm.forward(x)) {
            if (!useLinear) {
                try (NDArray p = ((Conv2d) projIn).forward(n)) {
                    // b c h w -> b (h w) c
                    t = toTokens(p);
                }
            } else {
                try (NDArray tok = toTokens(n)) {
                    t = ((Linear) projIn).forward(tok);
                }
            }
        }
        List<BasicTransformerBlock> blocks = transformerBlocks.items();
        for (int i = 0; i < blocks.size(); i++) {
            NDArray ctx = null;
            if (contexts != null && !contexts.isEmpty()) {
                ctx = contexts.size() == 1 ? contexts.get(0) : contexts.get(i);
            }
            NDArray next = blocks.get(i).forward(t, ctx);
            t.close();
            t = next;
        }
        NDArray img;
        NDArray tokens = t;
        if (useLinear) {
            try (tokens;
                    NDArray p = ((Linear) projOut).forward(tokens)) {
                img = fromTokens(p, b, c, h, w);
            }
        } else {
            long inner = tokens.getShape().get(2);
            try (tokens;
                    NDArray back = fromTokens(tokens, b, inner, h, w)) {
                img = ((Conv2d) projOut).forward(back);
            }
        }
        try (img) {
            return img.add(x);
        }
    }

    /**
     * {@code rearrange(x, "b c h w -> b (h w) c").contiguous()}: the reference makes both rearranges
     * contiguous. Merging the transposed dims forces the copy (DJL has no {@code contiguous()}); a
     * transposed view here would reach the norms and linear layers, and in {@link #fromTokens} make the
     * block's output channels-last, so that every convolution after it converts its weight and every
     * upsample copies.
     */
    private static NDArray toTokens(NDArray x) {
        Shape s = x.getShape();
        long hw = s.get(2) * s.get(3);
        try (NDArray r = x.reshape(s.get(0), s.get(1), hw);
                NDArray tr = r.transpose(0, 2, 1);
                NDArray flat = tr.reshape(s.get(0), hw * s.get(1))) {
            return flat.reshape(s.get(0), hw, s.get(1));
        }
    }

    /** {@code rearrange(x, "b (h w) c -> b c h w").contiguous()} (see {@link #toTokens}). */
    private static NDArray fromTokens(NDArray t, long b, long c, long h, long w) {
        try (NDArray tr = t.transpose(0, 2, 1);
                NDArray flat = tr.reshape(b, c * h * w)) {
            return flat.reshape(b, c, h, w);
        }
    }
}
