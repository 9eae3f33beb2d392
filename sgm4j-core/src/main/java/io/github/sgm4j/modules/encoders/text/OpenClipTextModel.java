package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Embedding;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.LayerNorm;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.Parameter;

/**
 * Port of the text half of open_clip's {@code CLIP} (open_clip 2.20), as sgm's OpenCLIP embedders
 * hold it under {@code model.} after {@code del model.visual}: {@code positional_embedding},
 * {@code text_projection}, {@code logit_scale}, {@code transformer.resblocks.N} ({@code ln_1},
 * {@code attn} = {@code nn.MultiheadAttention} with {@code in_proj_weight/in_proj_bias/out_proj},
 * {@code ln_2}, {@code mlp.c_fc/c_proj} with exact GELU; no layer scale), {@code token_embedding}
 * and {@code ln_final}. The causal {@code attn_mask} buffer is not persistent and is computed on
 * the fly.
 */
public class OpenClipTextModel extends Module {

    /**
     * The architecture of an open_clip text tower ({@code text_cfg} and {@code embed_dim} of the
     * model config).
     *
     * @param vocabSize rows of the token embedding (49408)
     * @param width the transformer width
     * @param layers the number of residual attention blocks
     * @param heads attention heads
     * @param contextLength positions (77)
     * @param embedDim columns of {@code text_projection} ({@code embed_dim})
     */
    public record Arch(int vocabSize, int width, int layers, int heads, int contextLength, int embedDim) {
        /**
         * Validates the sizes.
         *
         * @param vocabSize see the record
         * @param width see the record
         * @param layers see the record
         * @param heads see the record
         * @param contextLength see the record
         * @param embedDim see the record
         * @throws IllegalArgumentException if a size is not positive or the width does not split into heads
         */
        public Arch {
            if (vocabSize < 1 || width < 1 || layers < 1 || heads < 1 || contextLength < 1 || embedDim < 1
                    || width % heads != 0) {
                throw new IllegalArgumentException("OpenCLIP text arch: sizes must be positive and width divisible "
                        + "by heads, got " + this);
            }
        }
    }

    private final Arch arch;
    private final Parameter textProjection;
    private final Parameter positionalEmbedding;
    private final ModuleList<ResidualAttentionBlock> resblocks;
    private final Embedding tokenEmbedding;
    private final LayerNorm lnFinal;

    /**
     * Builds the tower (weights are allocated by {@link #initialize} or loaded by key).
     *
     * @param arch the sizes
     */
    public OpenClipTextModel(Arch arch) {
        this.arch = arch;
        positionalEmbedding = parameter("positional_embedding", new Shape(arch.contextLength(), arch.width()),
                Init.normal(0.01));
        textProjection = parameter("text_projection", new Shape(arch.width(), arch.embedDim()),
                Init.normal(Math.pow(arch.width(), -0.5)));
        parameter("logit_scale", new Shape(), Init.constant(Math.log(1 / 0.07)));
        ClipTextModel.Holder transformer = register("transformer", new ClipTextModel.Holder());
        resblocks = transformer.hold("resblocks", new ModuleList<>());
        for (int i = 0; i < arch.layers(); i++) {
            resblocks.add(new ResidualAttentionBlock(arch.width(), arch.heads()));
        }
        tokenEmbedding = register("token_embedding", new Embedding(arch.vocabSize(), arch.width()));
        lnFinal = register("ln_final", new LayerNorm(arch.width()));
    }

    /**
     * The sizes.
     *
     * @return the architecture
     */
    public Arch arch() {
        return arch;
    }

    /**
     * {@code token_embedding(text) + positional_embedding}, then the first {@code blocks} residual
     * blocks with the causal mask.
     *
     * @param text token ids [B, L] (integers, L equal to the context length)
     * @param blocks how many blocks to run, in [1, layers]
     * @return two new arrays [B, L, D]: the input of block {@code blocks - 1} and the output of
     *     block {@code blocks - 1} (for all blocks: sgm's {@code penultimate} and {@code last})
     * @throws IllegalArgumentException if the ids or the block count are out of range
     */
    public NDList transformer(NDArray text, int blocks) {
        Shape s = text.getShape();
        if (s.dimension() != 2 || s.get(1) != arch.contextLength() || text.getDataType().isFloating()) {
            throw new IllegalArgumentException("OpenCLIP text: token ids must be integers [B, "
                    + arch.contextLength() + "], got " + text.getDataType() + " " + s);
        }
        if (blocks < 1 || blocks > arch.layers()) {
            throw new IllegalArgumentException("OpenCLIP text: blocks must be in [1, " + arch.layers() + "], got "
                    + blocks);
        }
        NDArray x;
        try (NDArray tok = tokenEmbedding.forward(text)) {
            x = tok.add(positionalEmbedding.getArray());
        }
        NDArray before = null;
        try (NDArray mask = TextAttention.causalMask(x.getManager(), arch.contextLength())) {
            for (int i = 0; i < blocks; i++) {
                if (before != null) {
                    before.close();
                }
                before = x;
                x = resblocks.get(i).forward(x, mask);
            }
        }
        return new NDList(before, x);
    }

    /**
     * {@code ln_final(x)}.
     *
     * @param x [B, L, D]
     * @return a new array
     */
    public NDArray lnFinal(NDArray x) {
        return lnFinal.forward(x);
    }

    /**
     * sgm's {@code pool(x, text)}: {@code x[arange(B), text.argmax(-1)] @ text_projection}.
     *
     * @param x the final-normalised hidden states [B, L, D]
     * @param text the token ids [B, L]
     * @return the pooled, projected vector [B, embed_dim]
     */
    public NDArray pool(NDArray x, NDArray text) {
        try (NDArray eot = TextAttention.gatherArgmax(x, text)) {
            return eot.matMul(textProjection.getArray());
        }
    }

    /** {@code ResidualAttentionBlock}: ln_1, attn, ln_2, mlp (c_fc, GELU, c_proj). */
    private static final class ResidualAttentionBlock extends Module {
        private final LayerNorm ln1;
        private final MultiheadAttention attn;
        private final LayerNorm ln2;
        private final Linear cFc;
        private final Linear cProj;

        ResidualAttentionBlock(int width, int heads) {
            ln1 = register("ln_1", new LayerNorm(width));
            attn = register("attn", new MultiheadAttention(width, heads));
            ln2 = register("ln_2", new LayerNorm(width));
            ClipTextModel.Holder mlp = register("mlp", new ClipTextModel.Holder());
            cFc = mlp.hold("c_fc", new Linear(width, width * 4));
            cProj = mlp.hold("c_proj", new Linear(width * 4, width));
        }

        NDArray forward(NDArray x, NDArray mask) {
            NDArray h;
            try (NDArray n1 = ln1.forward(x);
                    NDArray a = attn.forward(n1, mask)) {
                h = x.add(a);
            }
            try (NDArray n2 = ln2.forward(h);
                    NDArray f = cFc.forward(n2);
                    NDArray g = F.gelu(f);
                    NDArray m = cProj.forward(g);
                    NDArray residual = h) {
                return residual.add(m);
            }
        }
    }

    /**
     * {@code nn.MultiheadAttention(d_model, n_head)} self-attention: packed {@code in_proj}, q divided
     * by sqrt(head_dim), additive mask, {@code out_proj}.
     */
    private static final class MultiheadAttention extends Module {
        private final int heads;
        private final int width;
        private final Parameter inProjWeight;
        private final Parameter inProjBias;
        private final Linear outProj;

        MultiheadAttention(int width, int heads) {
            this.width = width;
            this.heads = heads;
            inProjWeight = parameter("in_proj_weight", new Shape(3L * width, width),
                    Init.uniform(Math.sqrt(6.0 / (4.0 * width))));
            inProjBias = parameter("in_proj_bias", new Shape(3L * width), Init.zeros());
            outProj = register("out_proj", new Linear(width, width));
        }

        NDArray forward(NDArray x, NDArray mask) {
            try (NDArray qkv = F.linear(x, inProjWeight.getArray(), inProjBias.getArray());
                    NDList parts = qkv.split(3, 2); // [B, L, 3D] -> q, k, v [B, L, D]
                    NDArray q = F.div(parts.get(0), Math.sqrt(width / heads));
                    NDArray o = TextAttention.attend(q, parts.get(1), parts.get(2), heads, mask)) {
                return outProj.forward(o);
            }
        }
    }
}
