package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Port of {@code torch.nn.Linear}: {@code y = x W^T + b} over the last dimension. */
public class Linear extends Module implements UnaryModule {

    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * {@code nn.Linear(in, out)} with bias.
     *
     * @param inFeatures size of the input's last dimension
     * @param outFeatures size of the output's last dimension
     * @throws IllegalArgumentException if a size is not positive
     */
    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    /**
     * {@code nn.Linear(in, out, bias=bias)}.
     *
     * @param inFeatures size of the input's last dimension
     * @param outFeatures size of the output's last dimension
     * @param bias whether the layer has a {@code bias} parameter
     * @throws IllegalArgumentException if a size is not positive
     */
    public Linear(int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException(
                    "Linear: features must be positive, got in=" + inFeatures + " out=" + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        double bound = 1.0 / Math.sqrt(inFeatures);
        this.weight = parameter("weight", new Shape(outFeatures, inFeatures), Init.uniform(bound));
        this.bias = bias ? parameter("bias", new Shape(outFeatures), Init.uniform(bound)) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() == 0 || s.get(s.dimension() - 1) != inFeatures) {
            throw new IllegalArgumentException(
                    "Linear expects input [..., " + inFeatures + "], got " + s);
        }
        return F.linear(x, weight.getArray(), bias == null ? null : bias.getArray());
    }

    /**
     * The {@code weight} parameter [out, in].
     *
     * @return the slot [out, in], initialised {@code U(-1/sqrt(in), 1/sqrt(in))}
     */
    public Parameter getWeight() {
        return weight;
    }

    /**
     * The {@code bias} parameter, or null.
     *
     * @return the slot [out], or null when built with {@code bias=false}
     */
    public Parameter getBias() {
        return bias;
    }

    /**
     * Input features.
     *
     * @return in_features
     */
    public int getInFeatures() {
        return inFeatures;
    }

    /**
     * Output features.
     *
     * @return out_features
     */
    public int getOutFeatures() {
        return outFeatures;
    }
}
