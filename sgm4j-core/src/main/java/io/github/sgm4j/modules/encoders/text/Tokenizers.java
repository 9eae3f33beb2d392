package io.github.sgm4j.modules.encoders.text;

import java.util.List;
import java.util.function.Supplier;

/**
 * The tokenizers the text encoders use when they are built from a config (no tokenizer given):
 * HuggingFace {@code CLIPTokenizer} behaviour for {@link FrozenCLIPEmbedder}, open_clip {@code
 * tokenize} for the OpenCLIP embedders.
 */
public final class Tokenizers {

    private Tokenizers() {}

    /** The shared 77-id tokenizers, built on first use (the vocabulary takes a moment to read). */
    private static final class Shared {
        static final ClipTokenizer HF = new ClipTokenizer();
        static final OpenClipTokenizer OPEN_CLIP = new OpenClipTokenizer();
    }

    /**
     * The {@code openai/clip-vit-large-patch14} tokenizer as HF {@code CLIPTokenizer} applies it
     * (77 ids, padded with the end-of-text token): a shared {@link ClipTokenizer}.
     *
     * @return the tokenizer
     */
    public static TextTokenizer hfClip() {
        return Shared.HF;
    }

    /**
     * HF {@code CLIPTokenizer} with another {@code max_length} (the embedders' {@code max_length}).
     *
     * @param maxLength the row length, at least 2
     * @return the shared tokenizer for 77, a new one otherwise
     */
    public static TextTokenizer hfClip(int maxLength) {
        return maxLength == ClipTokenizer.CONTEXT_LENGTH ? Shared.HF : new ClipTokenizer(
                ClipBpe.bundled(ClipTokenizer.START_OF_TEXT, ClipTokenizer.END_OF_TEXT), maxLength);
    }

    /**
     * open_clip's {@code tokenize} (77 ids, padded with 0): a shared {@link OpenClipTokenizer}.
     *
     * @return the tokenizer
     */
    public static TextTokenizer openClip() {
        return Shared.OPEN_CLIP;
    }

    /**
     * open_clip's {@code tokenize} with another {@code context_length}.
     *
     * @param contextLength the row length, at least 2
     * @return the shared tokenizer for 77, a new one otherwise
     */
    public static TextTokenizer openClip(int contextLength) {
        return contextLength == ClipTokenizer.CONTEXT_LENGTH ? Shared.OPEN_CLIP : new OpenClipTokenizer(
                ClipBpe.bundled(OpenClipTokenizer.START_OF_TEXT, OpenClipTokenizer.END_OF_TEXT), contextLength);
    }

    /**
     * A tokenizer resolved on first use: building a model from a config needs no vocabulary, only
     * tokenizing does.
     *
     * @param factory makes the tokenizer (e.g. {@code Tokenizers::hfClip}); called once, on first
     *     {@link TextTokenizer#encode}
     * @param contextLength the row length the tokenizer produces (77)
     * @return a tokenizer that delegates to {@code factory.get()}
     */
    public static TextTokenizer lazy(Supplier<TextTokenizer> factory, int contextLength) {
        return new TextTokenizer() {
            private volatile TextTokenizer resolved;

            @Override
            public int[][] encode(List<String> texts) {
                TextTokenizer t = resolved;
                if (t == null) {
                    synchronized (this) {
                        if (resolved == null) {
                            resolved = factory.get();
                        }
                        t = resolved;
                    }
                }
                return t.encode(texts);
            }

            @Override
            public int contextLength() {
                return contextLength;
            }
        };
    }
}
