package io.github.sgm4j.modules.encoders.text;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * HuggingFace's slow {@code CLIPTokenizer} as sgm's and ldm's {@code FrozenCLIPEmbedder} call it
 * (SD 1.x, SDXL embedder 0): {@code tokenizer(text, truncation=True, max_length=77,
 * padding="max_length")} with the {@code openai/clip-vit-large-patch14} tokenizer, ftfy installed.
 *
 * <p>A row is {@code <|startoftext|>} (49406), at most 75 byte-pair ids, {@code <|endoftext|>}
 * (49407), then the pad token, which for this tokenizer is {@code <|endoftext|>} too. The text is
 * first split on the literal special tokens (kept as their ids); each other part is fixed by {@link
 * TextFixer}, its whitespace collapsed and stripped, lower-cased, pre-tokenised and byte-pair
 * encoded. Longer prompts are truncated at the end, as the reference does; {@link
 * #untruncatedLength} tells callers how long the row would have been.
 */
public final class ClipTokenizer implements TextTokenizer {

    /** HF's start-of-text token. */
    public static final String START_OF_TEXT = "<|startoftext|>";
    /** HF's end-of-text token, also the unknown and padding token of clip-vit-large-patch14. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** CLIP's context length, the default {@code max_length}. */
    public static final int CONTEXT_LENGTH = 77;

    private final ClipBpe bpe;
    private final ClipPreTokenizer preTokenizer = new ClipPreTokenizer(START_OF_TEXT, END_OF_TEXT);
    private final int padId;
    private final int maxLength;

    /** The tokenizer on the bundled CLIP BPE file (the vocabulary of clip-vit-large-patch14). */
    public ClipTokenizer() {
        this(ClipBpe.bundled(START_OF_TEXT, END_OF_TEXT));
    }

    /**
     * The tokenizer on a given vocabulary whose special tokens are named {@link #START_OF_TEXT}
     * and {@link #END_OF_TEXT}.
     *
     * @param bpe the vocabulary
     */
    public ClipTokenizer(ClipBpe bpe) {
        this(bpe, CONTEXT_LENGTH);
    }

    /**
     * The tokenizer with another {@code max_length} (rows are truncated and padded to it).
     *
     * @param bpe the vocabulary
     * @param maxLength the row length, at least 2
     */
    public ClipTokenizer(ClipBpe bpe, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("max_length must be at least 2 (got " + maxLength + ")");
        }
        this.bpe = bpe;
        this.padId = bpe.endId();
        this.maxLength = maxLength;
    }

    /**
     * The tokenizer of a HuggingFace tokenizer folder (e.g. {@code openai/clip-vit-large-patch14}'s
     * {@code tokenizer/} with {@code vocab.json} and {@code merges.txt}).
     *
     * @param folder the folder holding {@code vocab.json} and {@code merges.txt}
     * @return the tokenizer
     * @throws IOException if a file cannot be read
     */
    public static ClipTokenizer fromHfFolder(Path folder) throws IOException {
        return new ClipTokenizer(ClipBpe.fromHfFiles(
                folder.resolve("vocab.json"), folder.resolve("merges.txt"), START_OF_TEXT, END_OF_TEXT));
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
     * @return start token, at most {@code contextLength() - 2} ids, end token, padding with the end
     *     token
     */
    public int[] encodeRow(String text) {
        Objects.requireNonNull(text, "text is null");
        return ClipRows.row(bpe.startId(), tokenize(text), bpe.endId(), padId, maxLength);
    }

    /**
     * The byte-pair ids of a text without special tokens around it and without truncation.
     *
     * @param text the prompt
     * @return the ids
     */
    public List<Integer> tokenize(String text) {
        List<Integer> ids = new ArrayList<>();
        int pos = 0;
        while (pos <= text.length()) {
            int sot = text.indexOf(START_OF_TEXT, pos);
            int eot = text.indexOf(END_OF_TEXT, pos);
            int next = sot < 0 ? eot : (eot < 0 ? sot : Math.min(sot, eot));
            String chunk = next < 0 ? text.substring(pos) : text.substring(pos, next);
            if (!chunk.isEmpty()) {
                String clean = ClipPreTokenizer.pythonLower(
                        ClipPreTokenizer.whitespaceClean(TextFixer.fixText(chunk)));
                for (String piece : preTokenizer.split(clean)) {
                    bpe.encodePiece(piece, ids);
                }
            }
            if (next < 0) {
                break;
            }
            boolean isStart = next == sot;
            ids.add(isStart ? bpe.startId() : bpe.endId());
            pos = next + (isStart ? START_OF_TEXT : END_OF_TEXT).length();
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
        return maxLength;
    }
}
