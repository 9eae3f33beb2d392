package io.github.sgm4j.modules.attention;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.LayerNorm;
import io.github.sgm4j.nn.Module;

/**
 * Port of {@code sgm.modules.attention.BasicTransformerBlock}: self-attention ({@code attn1};
 * cross-attention instead when {@code disable_self_attn}), cross-attention ({@code attn2}, itself
 * self-attention when there is no context), GEGLU feed-forward ({@code ff}), each pre-normed
 * ({@code norm1..3}, LayerNorm eps 1e-5) and residual.
 */
public class BasicTransformerBlock extends Module {

    private final boolean disableSelfAttn;
    private final CrossAttention attn1;
    private final FeedForward ff;
    private final CrossAttention attn2;
    private final LayerNorm norm1;
    private final LayerNorm norm2;
    private final LayerNorm norm3;

    /**
     * {@code BasicTransformerBlock(dim, n_heads, d_head, dropout, context_dim, gated_ff=True, disable_self_attn)}.
     *
     * @param dim the model (feature) dimension
     * @param nHeads the number of attention heads
     * @param dHead the channels per attention head
     * @param dropout the dropout probability (0 disables it)
     * @param contextDim the cross-attention context dimension, or null for self-attention in both attentions
     * @param gatedFf whether the feed-forward uses {@link GEGLU} (the reference default: true)
     * @param disableSelfAttn whether the first attention is a cross-attention to the context instead of
     *     self-attention
     */
    public BasicTransformerBlock(int dim, int nHeads, int dHead, double dropout, Integer contextDim,
            boolean gatedFf, boolean disableSelfAttn) {
        this.disableSelfAttn = disableSelfAttn;
        this.attn1 = register("attn1", new CrossAttention(dim, disableSelfAttn ? contextDim : null, nHeads, dHead, dropout));
        this.ff = register("ff", new FeedForward(dim, null, 4, gatedFf, dropout));
        this.attn2 = register("attn2", new CrossAttention(dim, contextDim, nHeads, dHead, dropout));
        this.norm1 = register("norm1", new LayerNorm(dim));
        this.norm2 = register("norm2", new LayerNorm(dim));
        this.norm3 = register("norm3", new LayerNorm(dim));
    }

    /**
     * Sets the query-chunking threshold of both attentions.
     *
     * @param maxScoreElements the largest attention score matrix, in elements, computed in one piece (larger
     *     ones are chunked over queries)
     */
    public void setMaxScoreElements(long maxScoreElements) {
        attn1.setMaxScoreElements(maxScoreElements);
        attn2.setMaxScoreElements(maxScoreElements);
    }

    /**
     * @param x [B, N, dim]
     * @param context [B, M, context_dim] or null
     * @return [B, N, dim]
     */
    public NDArray forward(NDArray x, NDArray context) {
        NDArray h1;
        try (NDArray n1 = norm1.forward(x);
                NDArray a1 = attn1.forward(n1, disableSelfAttn ? context : null)) {
            h1 = a1.add(x);
        }
        NDArray h2;
        try (h1;
                NDArray n2 = norm2.forward(h1);
                NDArray a2 = attn2.forward(n2, context)) {
            h2 = a2.add(h1);
        }
        try (h2;
                NDArray n3 = norm3.forward(h2);
                NDArray f = ff.forward(n3)) {
            return f.add(h2);
        }
    }
}
