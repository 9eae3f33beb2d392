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

    /**
     * The {@code openai/clip-vit-large-patch14} tokenizer as HF {@code CLIPTokenizer} applies it
     * (77 ids, padded with the end-of-text token).
     *
     * @return the tokenizer
     * @throws IllegalStateException while the CLIP tokenizer is not part of this build
     */
    public static TextTokenizer hfClip() {
        throw new IllegalStateException("CLIP tokenizer not built yet");
    }

    /**
     * open_clip's {@code tokenize} (77 ids, padded with 0).
     *
     * @return the tokenizer
     * @throws IllegalStateException while the CLIP tokenizer is not part of this build
     */
    public static TextTokenizer openClip() {
        throw new IllegalStateException("CLIP tokenizer not built yet");
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
