package io.github.sgm4j.modules.attention;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Dropout;
import io.github.sgm4j.nn.GELU;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Sequential;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code sgm.modules.attention.FeedForward}: {@code net = [project_in, Dropout, Linear]}
 * with {@code project_in} a {@link GEGLU} ({@code glu=True}, keys {@code net.0.proj}) or {@code
 * Sequential(Linear, GELU)} (keys {@code net.0.0}).
 */
public class FeedForward extends Module implements UnaryModule {

    private final Sequential net;

    /**
     * {@code FeedForward(dim, dim_out=None, mult=4, glu, dropout)}.
     *
     * @param dim the model (feature) dimension
     * @param dimOut the output dimension, or null for {@code dim}
     * @param mult the hidden-width multiplier (reference default 4)
     * @param glu whether the input projection is a {@link GEGLU}
     * @param dropout the dropout probability (0 disables it)
     */
    public FeedForward(int dim, Integer dimOut, double mult, boolean glu, double dropout) {
        int inner = (int) (dim * mult);
        int out = dimOut == null ? dim : dimOut;
        Module projectIn = glu ? new GEGLU(dim, inner) : new Sequential(new Linear(dim, inner), new GELU());
        this.net = register("net", new Sequential(projectIn, new Dropout(dropout), new Linear(inner, out)));
    }

    @Override
    public NDArray forward(NDArray x) {
        return net.forward(x);
    }
}
