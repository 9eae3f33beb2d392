package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.modules.diffusionmodules.util.DiffusionUtil;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/** Port of {@code sgm.modules.diffusionmodules.openaimodel.Timestep}: {@code timestep_embedding(t, dim)}. */
public class Timestep extends Module implements UnaryModule {

    private final int dim;

    /**
     * {@code Timestep(dim)}.
     *
     * @param dim the embedding dimension
     */
    public Timestep(int dim) {
        this.dim = dim;
    }

    @Override
    public NDArray forward(NDArray t) {
        return DiffusionUtil.timestepEmbedding(t, dim);
    }

    /**
     * The embedding width.
     *
     * @return the embedding dimension
     */
    public int getDim() {
        return dim;
    }
}
