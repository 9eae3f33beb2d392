package io.github.sgm4j.modules.attention;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Dropout;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Sequential;

/**
 * Port of {@code sgm.modules.attention.CrossAttention} (and ldm's): multi-head softmax attention
 * of {@code x} over {@code context} (self-attention when there is none), {@code to_q}/{@code
 * to_k}/{@code to_v} without bias, {@code to_out.0} linear and {@code to_out.1} dropout. The scale
 * is {@code dim_head^-0.5}, the math of torch's {@code scaled_dot_product_attention}.
 *
 * <p>Queries are processed in chunks when the score matrix would exceed {@link
 * #setMaxScoreElements} elements (default {@link F#DEFAULT_MAX_SCORE_ELEMENTS}); every query row is
 * computed exactly as without chunking.
 */
public class CrossAttention extends Module {

    private final int heads;
    private final int dimHead;
    private final int queryDim;
    private final int contextDim;
    private final double scale;
    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Sequential toOut;
    private long maxScoreElements = F.DEFAULT_MAX_SCORE_ELEMENTS;

    /**
     * {@code CrossAttention(query_dim, context_dim, heads, dim_head, dropout)}.
     *
     * @param queryDim width of {@code x}
     * @param contextDim width of {@code context}, or null for self-attention
     * @param heads number of heads
     * @param dimHead width per head
     * @param dropout output dropout
     */
    public CrossAttention(int queryDim, Integer contextDim, int heads, int dimHead, double dropout) {
        if (heads <= 0 || dimHead <= 0) {
            throw new IllegalArgumentException("CrossAttention: heads (" + heads + ") and dim_head (" + dimHead
                    + ") must be positive");
        }
        int inner = heads * dimHead;
        this.heads = heads;
        this.dimHead = dimHead;
        this.queryDim = queryDim;
        this.contextDim = contextDim == null ? queryDim : contextDim;
        this.scale = Math.pow(dimHead, -0.5);
        this.toQ = register("to_q", new Linear(queryDim, inner, false));
        this.toK = register("to_k", new Linear(this.contextDim, inner, false));
        this.toV = register("to_v", new Linear(this.contextDim, inner, false));
        this.toOut = register("to_out", new Sequential(new Linear(inner, queryDim), new Dropout(dropout)));
    }

    /**
     * Sets the score-matrix size above which queries are chunked ({@code <= 0}: never).
     *
     * @param maxScoreElements the largest attention score matrix, in elements, computed in one piece (larger
     *     ones are chunked over queries)
     */
    public void setMaxScoreElements(long maxScoreElements) {
        this.maxScoreElements = maxScoreElements;
    }

    /**
     * The forward pass.
     *
     * @param x [B, N, query_dim]
     * @param context [B, M, context_dim], or null for self-attention
     * @return [B, N, query_dim]
     */
    public NDArray forward(NDArray x, NDArray context) {
        NDArray ctx = context == null ? x : context;
        long ctxWidth = ctx.getShape().get(ctx.getShape().dimension() - 1);
        if (ctxWidth != contextDim) {
            throw new IllegalArgumentException("CrossAttention expects context [B, M, " + contextDim + "], got "
                    + ctx.getShape() + (context == null ? " (self-attention on x)" : ""));
        }
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        long m = ctx.getShape().get(1);
        try (NDArray q = toQ.forward(x);
                NDArray k = toK.forward(ctx);
                NDArray v = toV.forward(ctx);
                // b n (h d) -> b h n d (every view closed too: a view keeps its base's storage alive)
                NDArray q4 = q.reshape(b, n, heads, dimHead);
                NDArray qh = q4.transpose(0, 2, 1, 3);
                NDArray k4 = k.reshape(b, m, heads, dimHead);
                NDArray kh = k4.transpose(0, 2, 1, 3);
                NDArray v4 = v.reshape(b, m, heads, dimHead);
                NDArray vh = v4.transpose(0, 2, 1, 3);
                NDArray out = F.attention(qh, kh, vh, scale, maxScoreElements);
                // b h n d -> b n (h d)
                NDArray outT = out.transpose(0, 2, 1, 3);
                NDArray merged = outT.reshape(new Shape(b, n, (long) heads * dimHead))) {
            return toOut.forward(merged);
        }
    }

    /**
     * Number of heads.
     *
     * @return the number of heads
     */
    public int getHeads() {
        return heads;
    }

    /**
     * Query width.
     *
     * @return the query dimension
     */
    public int getQueryDim() {
        return queryDim;
    }
}
