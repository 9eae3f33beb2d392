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
 *
 * <p>Its only weight is {@code embedding.weight} [n_classes, embed_dim] (checkpoint key {@code
 * cond_stage_model.embedding.weight} in a {@code LatentDiffusion}).
 */
public class ClassEmbedder extends Module {

    private final String key;
    private final Embedding embedding;

    /**
     * {@code ClassEmbedder(embed_dim, n_classes=1000, key='class')}: a fresh {@code nn.Embedding(
     * n_classes, embed_dim)} registered as {@code embedding}.
     *
     * @param embedDim {@code embed_dim}, the width of the context token (the UNet's {@code
     *     context_dim}), {@code >= 1}
     * @param nClasses {@code n_classes}, the number of labels, {@code >= 1}
     * @param key the batch key of the labels ({@code class} in the reference)
     * @throws IllegalArgumentException if {@code embedDim} or {@code nClasses} is less than 1
     */
    public ClassEmbedder(int embedDim, int nClasses, String key) {
        if (embedDim < 1 || nClasses < 1) {
            throw new IllegalArgumentException("ClassEmbedder: embed_dim and n_classes must be >= 1, got "
                    + embedDim + ", " + nClasses);
        }
        this.key = key;
        this.embedding = register("embedding", new Embedding(nClasses, embedDim));
    }

    /**
     * Builds from {@code ldm.modules.encoders.modules.ClassEmbedder} params: {@code embed_dim}
     * (required), {@code n_classes} (default 1000) and {@code key} (default {@code class}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator (unused: the embedder has no sub-modules to build)
     * @return a new embedder, weights drawn from N(0, 1) like {@code nn.Embedding} (load the
     *     checkpoint weights afterwards)
     * @throws io.github.sgm4j.config.ConfigException if {@code embed_dim} is missing or a value has
     *     the wrong type
     * @throws IllegalArgumentException if {@code embed_dim} or {@code n_classes} is less than 1
     */
    public static ClassEmbedder fromConfig(ConfigNode p, Instantiator inst) {
        return new ClassEmbedder(p.getInt("embed_dim"), p.getInt("n_classes", 1000), p.getString("key", "class"));
    }

    /**
     * The batch key of the labels ({@code self.key}).
     *
     * @return the key {@link #forward(Map)} reads
     */
    public String getKey() {
        return key;
    }

    /**
     * {@code n_classes}: the number of labels the embedding holds.
     *
     * @return the row count of {@code embedding.weight}
     */
    public int numClasses() {
        return embedding.getNumEmbeddings();
    }

    /**
     * {@code forward(batch)} with the configured key: see {@link #forward(Map, String)}.
     *
     * @param batch the batch; {@code batch.get(getKey())} must be the [B] integer labels
     * @return the context [B, 1, embed_dim], a new array the caller closes
     * @throws IllegalArgumentException when the key is missing, the labels are not 1-D or a label is
     *     outside {@code [0, n_classes)}
     */
    public NDArray forward(Map<String, NDArray> batch) {
        return forward(batch, key);
    }

    /**
     * {@code forward(batch, key)}: {@code embedding(batch[key][:, None])}, [B] integer labels to
     * one context token each, [B, 1, embed_dim], for cross-attention.
     *
     * @param batch the batch; only {@code batch.get(k)} is read, and it is not closed
     * @param k the key of the [B] integer labels (any integer dtype; converted to int64)
     * @return the context [B, 1, embed_dim] in the embedding weight's dtype, a new array owned by
     *     the labels' manager; the caller closes it
     * @throws IllegalArgumentException when the key is missing, the labels are not 1-D or a label is
     *     outside {@code [0, n_classes)}
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
