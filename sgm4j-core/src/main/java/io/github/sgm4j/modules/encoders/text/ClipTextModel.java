package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.LayerNorm;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.Embedding;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of HuggingFace transformers 4.19 {@code CLIPTextModel} (the text tower of OpenAI CLIP as
 * {@code FrozenCLIPEmbedder} holds it under {@code transformer.}): {@code text_model.embeddings}
 * (token and position embeddings, the persistent {@code position_ids} buffer), {@code
 * text_model.encoder.layers.N} (pre-LayerNorm blocks: causal self-attention with separate {@code
 * q/k/v/out_proj}, quick-GELU MLP {@code fc1/fc2}) and {@code text_model.final_layer_norm}.
 *
 * <p>Outputs as {@code BaseModelOutputWithPooling}: {@code hidden_states[0]} is the embedding
 * output and {@code hidden_states[i]} the output of layer {@code i} (not normalised); {@code
 * last_hidden_state} is {@code final_layer_norm} of the last one; {@code pooler_output} is {@code
 * last_hidden_state} at the position of the largest token id of each row (the end-of-text token;
 * the first one when the row is padded with it).
 */
public class ClipTextModel extends Module {

    /**
     * The architecture of a CLIP text tower.
     *
     * @param vocabSize rows of the token embedding ({@code vocab_size}, 49408)
     * @param width the hidden size ({@code hidden_size})
     * @param layers the number of encoder layers ({@code num_hidden_layers})
     * @param heads attention heads ({@code num_attention_heads})
     * @param contextLength positions ({@code max_position_embeddings}, 77)
     * @param mlpWidth the MLP hidden size ({@code intermediate_size})
     */
    public record Arch(int vocabSize, int width, int layers, int heads, int contextLength, int mlpWidth) {
        /**
         * Validates the sizes.
         *
         * @param vocabSize see the record
         * @param width see the record
         * @param layers see the record
         * @param heads see the record
         * @param contextLength see the record
         * @param mlpWidth see the record
         * @throws IllegalArgumentException if a size is not positive or the width does not split into heads
         */
        public Arch {
            if (vocabSize < 1 || width < 1 || layers < 1 || heads < 1 || contextLength < 1 || mlpWidth < 1
                    || width % heads != 0) {
                throw new IllegalArgumentException("CLIP text arch: sizes must be positive and width divisible by "
                        + "heads, got " + this);
            }
        }
    }

    private final Arch arch;
    private final TextTransformer textModel;

    /**
     * Builds the tower (weights are allocated by {@link #initialize} or loaded by key).
     *
     * @param arch the sizes
     */
    public ClipTextModel(Arch arch) {
        this.arch = arch;
        this.textModel = register("text_model", new TextTransformer(arch));
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
     * The outputs of one forward pass; {@link #close} frees every array.
     *
     * @param lastHiddenState {@code final_layer_norm} of the last layer's output [B, L, D]
     * @param pooled {@code last_hidden_state} at the end-of-text position of each row [B, D]
     * @param hiddenStates the embedding output and each layer's output, {@code layers + 1} arrays
     *     [B, L, D] (empty when not requested)
     */
    public record Output(NDArray lastHiddenState, NDArray pooled, List<NDArray> hiddenStates)
            implements AutoCloseable {
        /** Frees every array of the output. */
        @Override
        public void close() {
            lastHiddenState.close();
            pooled.close();
            hiddenStates.forEach(NDArray::close);
        }
    }

    /**
     * {@code CLIPTextModel(input_ids, output_hidden_states)}.
     *
     * @param inputIds token ids [B, L] (integers, L at most {@code contextLength})
     * @param outputHiddenStates whether to return every layer's output
     * @return the outputs, new arrays the caller closes
     * @throws IllegalArgumentException if the ids are not an integer [B, L] array with L in range
     */
    public Output forward(NDArray inputIds, boolean outputHiddenStates) {
        Shape s = inputIds.getShape();
        if (s.dimension() != 2 || s.get(1) > arch.contextLength() || inputIds.getDataType().isFloating()) {
            throw new IllegalArgumentException("CLIPTextModel: input_ids must be integers [B, L] with L <= "
                    + arch.contextLength() + ", got " + inputIds.getDataType() + " " + s);
        }
        return textModel.forward(inputIds, outputHiddenStates);
    }

    /** {@code CLIPTextTransformer}: embeddings, encoder, final_layer_norm. */
    private static final class TextTransformer extends Module {
        private final Embeddings embeddings;
        private final ModuleList<EncoderLayer> layers;
        private final LayerNorm finalLayerNorm;

        TextTransformer(Arch arch) {
            embeddings = register("embeddings", new Embeddings(arch));
            Holder encoder = register("encoder", new Holder());
            layers = encoder.hold("layers", new ModuleList<>());
            for (int i = 0; i < arch.layers(); i++) {
                layers.add(new EncoderLayer(arch));
            }
            finalLayerNorm = register("final_layer_norm", new LayerNorm(arch.width()));
        }

        Output forward(NDArray inputIds, boolean outputHiddenStates) {
            long len = inputIds.getShape().get(1);
            List<NDArray> hidden = new ArrayList<>();
            NDArray h = embeddings.forward(inputIds);
            try (NDArray mask = TextAttention.causalMask(h.getManager(), len)) {
                for (EncoderLayer layer : layers.items()) {
                    if (outputHiddenStates) {
                        hidden.add(h);
                    }
                    NDArray next = layer.forward(h, mask);
                    if (!outputHiddenStates) {
                        h.close();
                    }
                    h = next;
                }
            }
            if (outputHiddenStates) {
                hidden.add(h);
            }
            NDArray last = finalLayerNorm.forward(h);
            if (!outputHiddenStates) {
                h.close();
            }
            NDArray pooled = TextAttention.gatherArgmax(last, inputIds);
            return new Output(last, pooled, hidden);
        }
    }

    /** {@code CLIPTextEmbeddings}: position_ids buffer, token_embedding, position_embedding. */
    private static final class Embeddings extends Module {
        private final Parameter positionIds;
        private final Embedding tokenEmbedding;
        private final Embedding positionEmbedding;

        Embeddings(Arch arch) {
            double[] pos = new double[arch.contextLength()];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = i;
            }
            // register_buffer("position_ids", arange(max_position_embeddings).expand((1, -1))): persistent in 4.19
            positionIds = buffer("position_ids", new Shape(1, arch.contextLength()), DataType.INT64, Init.values(pos),
                    true);
            tokenEmbedding = register("token_embedding", new Embedding(arch.vocabSize(), arch.width()));
            positionEmbedding = register("position_embedding", new Embedding(arch.contextLength(), arch.width()));
        }

        NDArray forward(NDArray inputIds) {
            long len = inputIds.getShape().get(1);
            // inputs_embeds + position_embedding(position_ids[:, :L]), with the checkpoint's position_ids
            try (NDArray ids = positionIds.getArray().get(":, 0:" + len);
                    NDArray tok = tokenEmbedding.forward(inputIds);
                    NDArray pos = positionEmbedding.forward(ids)) {
                return tok.add(pos);
            }
        }
    }

    /** {@code CLIPEncoderLayer}: pre-LN self-attention and MLP with residuals. */
    private static final class EncoderLayer extends Module {
        private final Attention selfAttn;
        private final LayerNorm layerNorm1;
        private final Mlp mlp;
        private final LayerNorm layerNorm2;

        EncoderLayer(Arch arch) {
            selfAttn = register("self_attn", new Attention(arch.width(), arch.heads()));
            layerNorm1 = register("layer_norm1", new LayerNorm(arch.width()));
            mlp = register("mlp", new Mlp(arch.width(), arch.mlpWidth()));
            layerNorm2 = register("layer_norm2", new LayerNorm(arch.width()));
        }

        NDArray forward(NDArray x, NDArray mask) {
            NDArray h;
            try (NDArray n1 = layerNorm1.forward(x);
                    NDArray a = selfAttn.forward(n1, mask)) {
                h = x.add(a);
            }
            try (NDArray n2 = layerNorm2.forward(h);
                    NDArray m = mlp.forward(n2);
                    NDArray residual = h) {
                return residual.add(m);
            }
        }
    }

    /** {@code CLIPAttention}: k/v/q/out projections, q scaled by head_dim^-0.5 after projection. */
    private static final class Attention extends Module {
        private final int heads;
        private final double scale;
        private final Linear kProj;
        private final Linear vProj;
        private final Linear qProj;
        private final Linear outProj;

        Attention(int width, int heads) {
            this.heads = heads;
            this.scale = Math.pow(width / heads, -0.5);
            kProj = register("k_proj", new Linear(width, width));
            vProj = register("v_proj", new Linear(width, width));
            qProj = register("q_proj", new Linear(width, width));
            outProj = register("out_proj", new Linear(width, width));
        }

        NDArray forward(NDArray x, NDArray mask) {
            try (NDArray q0 = qProj.forward(x);
                    NDArray q = F.mul(q0, scale);
                    NDArray k = kProj.forward(x);
                    NDArray v = vProj.forward(x);
                    NDArray o = TextAttention.attend(q, k, v, heads, mask)) {
                return outProj.forward(o);
            }
        }
    }

    /** {@code CLIPMLP}: fc1, quick_gelu, fc2. */
    private static final class Mlp extends Module {
        private final Linear fc1;
        private final Linear fc2;

        Mlp(int width, int mlpWidth) {
            fc1 = register("fc1", new Linear(width, mlpWidth));
            fc2 = register("fc2", new Linear(mlpWidth, width));
        }

        NDArray forward(NDArray x) {
            try (NDArray h = fc1.forward(x);
                    NDArray a = TextAttention.quickGelu(h)) {
                return fc2.forward(a);
            }
        }
    }

    /** A parameterless container that registers children by name (torch's plain {@code nn.Module} holders). */
    static class Holder extends Module {
        <M extends Module> M hold(String name, M child) {
            return register(name, child);
        }
    }
}
