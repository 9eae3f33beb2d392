package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GroupNorm;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code sgm.modules.diffusionmodules.model.AttnBlock} (also what {@code
 * vanilla-xformers}'s MemoryEfficientAttnBlock computes): single-head softmax self-attention over
 * the H*W positions, scale {@code c^-0.5}, with {@code norm}, 1x1 {@code q}/{@code k}/{@code v} and
 * {@code proj_out}, plus the input. Queries are chunked when the score matrix would exceed {@link
 * #setMaxScoreElements} (a 1024² image's 128² mid-block attention is 16384² scores).
 */
public class AttnBlock extends Module implements UnaryModule {

    private final int inChannels;
    private final GroupNorm norm;
    private final Conv2d q;
    private final Conv2d k;
    private final Conv2d v;
    private final Conv2d projOut;
    private long maxScoreElements = F.DEFAULT_MAX_SCORE_ELEMENTS;

    /**
     * {@code AttnBlock(in_channels)}.
     *
     * @param inChannels the number of channels (kept)
     */
    public AttnBlock(int inChannels) {
        this.inChannels = inChannels;
        this.norm = register("norm", ModelUtil.normalize(inChannels));
        this.q = register("q", new Conv2d(inChannels, inChannels, 1, 1, 0));
        this.k = register("k", new Conv2d(inChannels, inChannels, 1, 1, 0));
        this.v = register("v", new Conv2d(inChannels, inChannels, 1, 1, 0));
        this.projOut = register("proj_out", new Conv2d(inChannels, inChannels, 1, 1, 0));
    }

    /**
     * Query-chunking threshold in score elements ({@code <= 0}: never chunk).
     *
     * @param maxScoreElements the largest attention score matrix, in elements, computed in one piece (larger
     *     ones are chunked over queries)
     */
    public void setMaxScoreElements(long maxScoreElements) {
        this.maxScoreElements = maxScoreElements;
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != inChannels) {
            throw new IllegalArgumentException("AttnBlock expects [B, " + inChannels + ", H, W], got " + s);
        }
        long b = s.get(0);
        long c = s.get(1);
        long hw = s.get(2) * s.get(3);
        NDArray att;
        try (NDArray n = norm.forward(x);
                NDArray qq = q.forward(n);
                NDArray kk = k.forward(n);
                NDArray vv = v.forward(n);
                // b c h w -> b (h w) c (every view closed too: a view keeps its base's storage alive)
                NDArray q3 = qq.reshape(b, c, hw);
                NDArray qt = q3.transpose(0, 2, 1);
                NDArray k3 = kk.reshape(b, c, hw);
                NDArray kt = k3.transpose(0, 2, 1);
                NDArray v3 = vv.reshape(b, c, hw);
                NDArray vt = v3.transpose(0, 2, 1);
                NDArray o = F.attention(qt, kt, vt, 1.0 / Math.sqrt(c), maxScoreElements);
                // b (h w) c -> b c h w
                NDArray oT = o.transpose(0, 2, 1);
                NDArray back = oT.reshape(s)) {
            att = projOut.forward(back);
        }
        try (att) {
            return x.add(att);
        }
    }
}
