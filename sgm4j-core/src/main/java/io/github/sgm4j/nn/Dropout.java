package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.noise.NoiseScope;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code torch.nn.Dropout(p)}. In training mode it draws its keep-mask through the tree's
 * {@link io.github.sgm4j.noise.NoiseSource} ({@link Module#setNoiseSource}, else the step's source
 * of the current {@link NoiseScope}, which {@code trainStep} opens); in eval mode, or with {@code p =
 * 0}, it is the identity.
 */
public class Dropout extends Module implements UnaryModule {

    private final double p;

    /**
     * {@code nn.Dropout(p)}.
     *
     * @param p the probability of zeroing an element, in [0, 1]
     * @throws IllegalArgumentException if {@code p} is outside [0, 1]
     */
    public Dropout(double p) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        }
        this.p = p;
    }

    @Override
    public NDArray forward(NDArray x) {
        if (!isTraining() || p == 0) {
            return F.alias(x);
        }
        NoiseSource noise = getNoiseSource() != null ? getNoiseSource() : NoiseScope.current();
        if (noise == null) {
            throw new IllegalStateException("Dropout(p=" + p + ") in training mode needs a noise source: train through"
                    + " trainStep (which provides the step's noise), open a NoiseScope around the forward pass, call"
                    + " setNoiseSource on the model, or switch it to eval mode");
        }
        return F.dropout(x, p, true, noise);
    }

    /**
     * The drop probability.
     *
     * @return the probability given at construction
     */
    public double getP() {
        return p;
    }
}
