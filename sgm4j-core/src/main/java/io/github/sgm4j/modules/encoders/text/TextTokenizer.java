package io.github.sgm4j.modules.encoders.text;

import java.util.List;

/**
 * Turns prompts into fixed-length rows of token ids, the input of a text encoder.
 *
 * <p>Implementations are thread-safe and deterministic: the same text always gives the same row.
 */
public interface TextTokenizer {

    /**
     * Tokenizes each text into exactly {@link #contextLength()} ids (start token, byte-pair tokens
     * truncated to fit, end token, then padding).
     *
     * @param texts the prompts, one row each
     * @return one row of {@link #contextLength()} token ids per text, in order
     */
    int[][] encode(List<String> texts);

    /**
     * The row length every text is padded or truncated to (77 for CLIP).
     *
     * @return the context length
     */
    int contextLength();
}
