package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Port of {@code torch.nn.Embedding(num_embeddings, embedding_dim)}. */
public class Embedding extends Module implements UnaryModule {

    private final int numEmbeddings;
    private final int embeddingDim;
    private final Parameter weight;

    /**
     * {@code nn.Embedding(num_embeddings, embedding_dim)}; weights init N(0, 1).
     *
     * @param numEmbeddings rows of the table
     * @param embeddingDim width of each row
     * @throws IllegalArgumentException if a size is not positive
     */
    public Embedding(int numEmbeddings, int embeddingDim) {
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException(
                    "Embedding: sizes must be positive, got " + numEmbeddings + " x " + embeddingDim);
        }
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.weight = parameter("weight", new Shape(numEmbeddings, embeddingDim), Init.normal(1.0));
    }

    /**
     * Looks up rows.
     *
     * @throws IllegalArgumentException if an index is outside [0, num_embeddings)
     */
    @Override
    public NDArray forward(NDArray indices) {
        if (indices.size() > 0) {
            long min;
            long max;
            try (NDArray lo = indices.min();
                    NDArray hi = indices.max()) {
                min = lo.toType(ai.djl.ndarray.types.DataType.INT64, false).getLong();
                max = hi.toType(ai.djl.ndarray.types.DataType.INT64, false).getLong();
            }
            if (min < 0 || max >= numEmbeddings) {
                throw new IllegalArgumentException(
                        "Embedding index out of range: got values in [" + min + ", " + max + "], table has "
                                + numEmbeddings + " rows");
            }
        }
        return F.embedding(indices, weight.getArray());
    }

    /**
     * The {@code weight} parameter [num_embeddings, dim].
     *
     * @return the slot
     */
    public Parameter getWeight() {
        return weight;
    }

    /**
     * Number of rows.
     *
     * @return num_embeddings
     */
    public int getNumEmbeddings() {
        return numEmbeddings;
    }

    /**
     * Row width.
     *
     * @return embedding_dim
     */
    public int getEmbeddingDim() {
        return embeddingDim;
    }
}
