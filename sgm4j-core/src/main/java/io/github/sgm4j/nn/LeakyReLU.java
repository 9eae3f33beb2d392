package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code torch.nn.LeakyReLU(negative_slope, inplace)}: {@code x} for {@code x >= 0}, {@code
 * slope * x} otherwise. {@code inplace} is accepted and ignored (the values are the same).
 */
public class LeakyReLU extends Module implements UnaryModule {

    /**
     * Constructor arguments with torch's defaults.
     *
     * @param negativeSlope the slope for negative inputs (0.01)
     */
    public record Params(double negativeSlope) {}

    private final double negativeSlope;

    /**
     * {@code nn.LeakyReLU(negative_slope)}.
     *
     * @param negativeSlope the slope for negative inputs
     */
    public LeakyReLU(double negativeSlope) {
        if (!Double.isFinite(negativeSlope)) {
            throw new IllegalArgumentException("LeakyReLU: negative_slope must be finite, got " + negativeSlope);
        }
        this.negativeSlope = negativeSlope;
    }

    /**
     * Builds {@code torch.nn.LeakyReLU} ({@code negative_slope} default 0.01, {@code inplace} ignored).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the layer
     */
    public static LeakyReLU fromConfig(ConfigNode p, Instantiator inst) {
        p.ignore("inplace");
        return new LeakyReLU(p.getDouble("negative_slope", 0.01));
    }

    /**
     * The activation.
     *
     * @param x any array
     * @return {@code leaky_relu(x, negative_slope)}
     */
    @Override
    public NDArray forward(NDArray x) {
        return F.leakyRelu(x, negativeSlope);
    }

    /**
     * The negative slope.
     *
     * @return the slope
     */
    public double getNegativeSlope() {
        return negativeSlope;
    }
}
