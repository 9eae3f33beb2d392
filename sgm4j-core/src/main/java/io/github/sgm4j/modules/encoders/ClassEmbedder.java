package io.github.sgm4j.modules.encoders;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Embedding;
import java.util.Map;

/**
 * Port of {@code sgm.modules.encoders.modules.ClassEmbedder}: a learned embedding of integer class
 * labels ({@code embedding.weight} [n_classes, embed_dim]), optionally with a sequence dim for
 * cross-attention.
 *
 * <p>The last class ({@code n_classes - 1}) is the unconditional class. The reference's {@code
 * get_unconditional_conditioning} reads an attribute that is never set and fails; {@link
 * #getUnconditionalConditioning} returns what it intends: the batch {@code {input_key: [uc_class] *
 * bs}}.
 */
public class ClassEmbedder extends AbstractEmbModel {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param embedDim the embedding dimension {@code embed_dim} (required)
     * @param nClasses the number of classes, the last one the unconditional class (default 1000)
     * @param addSequenceDim whether the output gets a sequence dim, {@code [B, 1, D]} (default false)
     */
    public record Params(int embedDim, int nClasses, boolean addSequenceDim) {
        /**
         * sgm's defaults: n_classes 1000, add_sequence_dim false.
         *
         * @param embedDim the embedding dimension {@code embed_dim}
         * @return the parameters with the reference's defaults
         */
        public static Params defaults(int embedDim) {
            return new Params(embedDim, 1000, false);
        }
    }

    private final Params params;
    private final Embedding embedding;

    /**
     * Builds the embedder.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public ClassEmbedder(Params params) {
        if (params.embedDim() < 1 || params.nClasses() < 1) {
            throw new IllegalArgumentException("ClassEmbedder: embed_dim and n_classes must be >= 1, got " + params);
        }
        this.params = params;
        this.embedding = register("embedding", new Embedding(params.nClasses(), params.embedDim()));
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params params() {
        return params;
    }

    /**
     * {@code forward(c)}: [B] class indices to [B, D] (or [B, 1, D] with {@code add_sequence_dim}).
     *
     * @throws IllegalArgumentException if an index is not in {@code [0, n_classes)}, naming it
     */
    @Override
    public NDArray forward(NDArray... inputs) {
        expectInputs(inputs, 1);
        NDArray c = inputs[0];
        if (c.getDataType().isFloating()) {
            throw new IllegalArgumentException("ClassEmbedder" + keySuffix() + ": class labels must be integers, got "
                    + c.getDataType());
        }
        long[] labels = c.toType(DataType.INT64, false).toLongArray();
        for (long l : labels) {
            if (l < 0 || l >= params.nClasses()) {
                throw new IllegalArgumentException("ClassEmbedder" + keySuffix() + ": class index " + l
                        + " out of range [0, " + params.nClasses() + ")");
            }
        }
        NDArray e = embedding.forward(c);
        if (params.addSequenceDim()) {
            // c[:, None, :]: [B, D] -> [B, 1, D]
            try (NDArray flat = e) {
                return flat.expandDims(1);
            }
        }
        return e;
    }

    /**
     * The unconditional class index, {@code n_classes - 1}.
     *
     * @return the unconditional class index
     */
    public int ucClass() {
        return params.nClasses() - 1;
    }

    /**
     * The intended {@code get_unconditional_conditioning(bs)}: {@code {input_key: full(bs, n_classes
     * - 1)}} (int64).
     *
     * @param manager the manager that owns the returned arrays
     * @param bs the batch size
     * @return a map from the input key to a new int64 {@code [bs]} array in {@code manager}
     * @throws IllegalStateException if the embedder has no {@code input_key}
     */
    public Map<String, NDArray> getUnconditionalConditioning(NDManager manager, int bs) {
        if (getInputKey() == null) {
            throw new IllegalStateException("ClassEmbedder: no input_key set, cannot name the unconditional batch");
        }
        NDArray uc = manager.full(new Shape(bs), (long) ucClass());
        return Map.of(getInputKey(), uc.toType(DataType.INT64, false));
    }

    private String keySuffix() {
        return getInputKey() == null ? "" : " (input_key '" + getInputKey() + "')";
    }

    /**
     * Builds from {@code sgm.modules.encoders.modules.ClassEmbedder} params ({@code embed_dim}, {@code n_classes}, {@code add_sequence_dim}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code ClassEmbedder}
     */
    public static ClassEmbedder fromConfig(ConfigNode p, Instantiator inst) {
        int dim = p.getInt("embed_dim");
        Params d = Params.defaults(dim);
        return new ClassEmbedder(new Params(dim, p.getInt("n_classes", d.nClasses()),
                p.getBoolean("add_sequence_dim", d.addSequenceDim())));
    }
}
