package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import java.util.ArrayList;
import java.util.List;

/**
 * A frozen text encoder of a {@code GeneralConditioner}: its batch value is a list of prompts,
 * which it tokenizes and encodes into one or two embeddings (the cross-attention context, and with
 * {@code always_return_pooled} the pooled vector), in the order of the reference's tuple.
 */
public abstract class AbstractTextEmbedder extends AbstractEmbModel {

    private final TextTokenizer tokenizer;
    private final int maxLength;

    /**
     * Sets the tokenizer.
     *
     * @param tokenizer turns prompts into rows of token ids
     * @param maxLength {@code max_length}: the row length the encoder takes (77)
     * @throws IllegalArgumentException if the tokenizer produces rows of another length
     */
    protected AbstractTextEmbedder(TextTokenizer tokenizer, int maxLength) {
        if (tokenizer == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": tokenizer is null");
        }
        if (tokenizer.contextLength() != maxLength) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": max_length " + maxLength
                    + " differs from the tokenizer's context length " + tokenizer.contextLength());
        }
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /**
     * The tokenizer.
     *
     * @return the tokenizer
     */
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * {@code max_length}.
     *
     * @return the token row length
     */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Tokenizes prompts into an int64 [B, max_length] array.
     *
     * @param manager owns the returned array
     * @param texts the prompts
     * @return the token ids
     * @throws IllegalArgumentException if the tokenizer returns a row of another length
     */
    public NDArray tokenize(NDManager manager, List<String> texts) {
        int[][] rows = tokenizer.encode(texts);
        long[] flat = new long[rows.length * maxLength];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != maxLength) {
                throw new IllegalArgumentException(getClass().getSimpleName() + ": the tokenizer returned "
                        + rows[r].length + " ids for prompt #" + r + ", expected " + maxLength);
            }
            for (int j = 0; j < maxLength; j++) {
                flat[r * maxLength + j] = rows[r][j];
            }
        }
        return Tensors.create(manager, flat, new Shape(rows.length, maxLength));
    }

    /**
     * The encoder on token ids: the reference's {@code forward} after tokenization.
     *
     * @param tokens token ids, integers [B, max_length]
     * @return the embeddings in the reference's order (the [B, L, D] context first, then the pooled
     *     [B, D'] vector when requested); new arrays the caller closes
     */
    public abstract List<NDArray> encodeTokens(NDArray tokens);

    /**
     * {@code forward(text)}: the value is a list of prompts ({@code List<String>}) or an array of
     * token ids [B, max_length].
     *
     * @throws IllegalArgumentException for another number or type of inputs
     * @throws IllegalStateException if the weights are not allocated
     */
    @Override
    public List<NDArray> embed(List<?> inputs) {
        if (inputs.size() != 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " takes 1 input (the prompts), got "
                    + inputs.size());
        }
        Object v = inputs.get(0);
        if (v instanceof NDArray tokens) {
            return encodeTokens(tokens);
        }
        List<String> texts = texts(v, getClass().getSimpleName() + (getInputKey() == null ? ""
                : " (input_key '" + getInputKey() + "')"));
        NDManager m = getManager();
        if (m == null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": weights are not allocated (load or "
                    + "initialize the model first)");
        }
        try (NDArray tokens = tokenize(m, texts)) {
            return encodeTokens(tokens);
        }
    }

    /**
     * The token-id path returning the first embedding only (the context); use {@link #embed} or
     * {@link #encodeTokens} for every output.
     */
    @Override
    public NDArray forward(NDArray... inputs) {
        expectInputs(inputs, 1);
        List<NDArray> out = encodeTokens(inputs[0]);
        for (int i = 1; i < out.size(); i++) {
            out.get(i).close();
        }
        return out.get(0);
    }

    /**
     * A batch value as a list of prompts.
     *
     * @param v a {@code List} of strings or a {@code String[]}
     * @param what names the embedder in the message
     * @return the prompts
     * @throws IllegalArgumentException for any other value, naming its type
     */
    static List<String> texts(Object v, String what) {
        List<String> out = new ArrayList<>();
        if (v instanceof String[] a) {
            out.addAll(List.of(a));
        } else if (v instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                if (!(l.get(i) instanceof String s)) {
                    throw new IllegalArgumentException(what + ": prompts must be strings, got "
                            + (l.get(i) == null ? "null" : l.get(i).getClass().getSimpleName()) + " at index " + i);
                }
                out.add(s);
            }
        } else {
            throw new IllegalArgumentException(what + ": expected a list of prompts (List<String>) or token ids,"
                    + " got " + (v == null ? "null" : v.getClass().getSimpleName()));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(what + ": no prompts");
        }
        return out;
    }

    /** {@code freeze()}: eval mode, no gradients. */
    protected void freeze() {
        eval();
        requiresGrad(false);
    }
}
