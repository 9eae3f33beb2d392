package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/** Port of {@code torch.nn.ReLU(inplace)}: {@code max(x, 0)} ({@code inplace} accepted and ignored). */
public class ReLU extends Module implements UnaryModule {

    /** {@code nn.ReLU()}. */
    public ReLU() {}

    /**
     * Builds {@code torch.nn.ReLU} ({@code inplace} ignored).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the layer
     */
    public static ReLU fromConfig(ConfigNode p, Instantiator inst) {
        p.ignore("inplace");
        return new ReLU();
    }

    /**
     * The activation.
     *
     * @param x any array
     * @return {@code relu(x)}
     */
    @Override
    public NDArray forward(NDArray x) {
        return F.relu(x);
    }
}
