package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.Embedding;
import io.github.sgm4j.nn.Module;
import java.util.Map;

/**
 * Port of {@code ldm.modules.encoders.modules.ClassEmbedder}: {@code embedding(batch[key][:, None])},
 * one context token [B, 1, embed_dim] per class label, for cross-attention ({@code cin-ldm-*}).
 * Unlike sgm's ClassEmbedder it has no {@code encode} and no unconditional rate.
 */
public class ClassEmbedder extends Module {

    private final String key;
    private final Embedding embedding;

    /** {@code ClassEmbedder(embed_dim, n_classes=1000, key='class')}. */
    public ClassEmbedder(int embedDim, int nClasses, String key) {
        if (embedDim < 1 || nClasses < 1) {
            throw new IllegalArgumentException("ClassEmbedder: embed_dim and n_classes must be >= 1, got "
                    + embedDim + ", " + nClasses);
        }
        this.key = key;
        this.embedding = register("embedding", new Embedding(nClasses, embedDim));
    }

    /** Builds from {@code ldm.modules.encoders.modules.ClassEmbedder} params. */
    public static ClassEmbedder fromConfig(ConfigNode p, Instantiator inst) {
        return new ClassEmbedder(p.getInt("embed_dim"), p.getInt("n_classes", 1000), p.getString("key", "class"));
    }

    /** The batch key of the labels. */
    public String getKey() {
        return key;
    }

    /** {@code forward(batch)} with the configured key. */
    public NDArray forward(Map<String, NDArray> batch) {
        return forward(batch, key);
    }

    /**
     * {@code forward(batch, key)}: [B] integer labels to [B, 1, embed_dim].
     *
     * @throws IllegalArgumentException when the key is missing or the labels are not 1-D
     */
    public NDArray forward(Map<String, NDArray> batch, String k) {
        NDArray labels = batch.get(k);
        if (labels == null) {
            throw new IllegalArgumentException("ClassEmbedder: batch has no key '" + k + "' (keys: " + batch.keySet() + ")");
        }
        if (labels.getShape().dimension() != 1) {
            throw new IllegalArgumentException("ClassEmbedder: batch['" + k + "'] must be [B] labels, got " + labels.getShape());
        }
        // this is for use in crossattn: [B] -> [B, 1]
        try (NDArray c = labels.expandDims(1)) {
            return embedding.forward(c);
        }
    }
}
