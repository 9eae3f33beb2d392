package io.github.sgm4j.modules.encoders.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * open_clip's {@code tokenize} ({@code SimpleTokenizer}, open_clip 2.20 and later) as {@code
 * FrozenOpenCLIPEmbedder} and {@code FrozenOpenCLIPEmbedder2} call it (SD 2.x, SDXL embedder 1).
 *
 * <p>The text is fixed by {@link TextFixer}, HTML-unescaped twice (Python's {@code html.unescape}),
 * stripped, its whitespace collapsed, lower-cased, pre-tokenised (the special tokens here are
 * {@code <start_of_text>} and {@code <end_of_text>}) and byte-pair encoded. A row is the start
 * token (49406), the ids, the end token (49407); a row longer than 77 is cut to 77 with the end
 * token in the last place; shorter rows are padded with 0.
 */
public final class OpenClipTokenizer implements TextTokenizer {

    /** open_clip's start-of-text token. */
    public static final String START_OF_TEXT = "<start_of_text>";
    /** open_clip's end-of-text token. */
    public static final String END_OF_TEXT = "<end_of_text>";
    /** The padding id. */
    public static final int PAD_ID = 0;

    private final ClipBpe bpe;
    private final int contextLength;
    private final ClipPreTokenizer preTokenizer = new ClipPreTokenizer(START_OF_TEXT, END_OF_TEXT);

    /** The tokenizer on the bundled CLIP BPE file, context length 77. */
    public OpenClipTokenizer() {
        this(ClipBpe.bundled(START_OF_TEXT, END_OF_TEXT), ClipTokenizer.CONTEXT_LENGTH);
    }

    /**
     * The tokenizer on a given vocabulary.
     *
     * @param bpe the vocabulary, its special tokens named {@link #START_OF_TEXT} and {@link
     *     #END_OF_TEXT}
     * @param contextLength the row length (77 for every CLIP model); at least 2
     */
    public OpenClipTokenizer(ClipBpe bpe, int contextLength) {
        if (contextLength < 2) {
            throw new IllegalArgumentException("context_length must be at least 2 (got " + contextLength + ")");
        }
        this.bpe = bpe;
        this.contextLength = contextLength;
    }

    @Override
    public int[][] encode(List<String> texts) {
        int[][] rows = new int[texts.size()][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = encodeRow(Objects.requireNonNull(texts.get(i), "texts[" + i + "] is null"));
        }
        return rows;
    }

    /**
     * One row of {@link #contextLength()} ids for one text.
     *
     * @param text the prompt
     * @return start token, ids, end token (last if truncated), zero padding
     */
    public int[] encodeRow(String text) {
        Objects.requireNonNull(text, "text is null");
        return ClipRows.row(bpe.startId(), tokenize(text), bpe.endId(), PAD_ID, contextLength);
    }

    /**
     * The byte-pair ids of a text without special tokens around it and without truncation ({@code
     * SimpleTokenizer.encode}).
     *
     * @param text the prompt
     * @return the ids
     */
    public List<Integer> tokenize(String text) {
        String clean = TextFixer.fixText(text);
        clean = HtmlUnescape.unescape(HtmlUnescape.unescape(clean));
        clean = ClipPreTokenizer.pythonStrip(clean);
        clean = ClipPreTokenizer.pythonLower(ClipPreTokenizer.whitespaceClean(clean));
        List<Integer> ids = new ArrayList<>();
        for (String piece : preTokenizer.split(clean)) {
            bpe.encodePiece(piece, ids);
        }
        return ids;
    }

    /**
     * The length the row of {@code text} would have without truncation (start and end tokens
     * included); more than {@link #contextLength()} means {@link #encode} truncated it.
     *
     * @param text the prompt
     * @return the untruncated length
     */
    public int untruncatedLength(String text) {
        return tokenize(text).size() + 2;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }
}
