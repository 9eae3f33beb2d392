package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Port of {@code torch.nn.Conv2d} (square kernel, stride, padding, groups, optional bias). */
public class Conv2d extends Module implements UnaryModule {

    private final int inChannels;
    private final int outChannels;
    private final int kernelSize;
    private final int stride;
    private final int padding;
    private final int groups;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * {@code nn.Conv2d(in, out, kernel, stride=1, padding=0)} with bias.
     *
     * @param inChannels input channels C_in
     * @param outChannels output channels C_out
     * @param kernelSize square kernel size k
     * @param stride stride in both directions
     * @param padding zero padding on each side
     * @throws IllegalArgumentException if a size is not positive or the padding is negative
     */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(inChannels, outChannels, kernelSize, stride, padding, 1, true);
    }

    /**
     * {@code nn.Conv2d(in, out, kernel, stride, padding, groups=groups, bias=bias)}.
     *
     * @param inChannels input channels C_in, divisible by {@code groups}
     * @param outChannels output channels C_out, divisible by {@code groups}
     * @param kernelSize square kernel size k
     * @param stride stride in both directions
     * @param padding zero padding on each side
     * @param groups number of channel groups
     * @param bias whether the layer has a {@code bias} parameter
     * @throws IllegalArgumentException if a size is not positive, the padding is negative or the channels are
     *     not divisible by {@code groups}
     */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int groups, boolean bias) {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0 || groups <= 0) {
            throw new IllegalArgumentException(String.format(
                    "Conv2d: invalid arguments in=%d out=%d kernel=%d stride=%d padding=%d groups=%d",
                    inChannels, outChannels, kernelSize, stride, padding, groups));
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException(
                    "Conv2d: channels (" + inChannels + ", " + outChannels + ") must be divisible by groups " + groups);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        double bound = 1.0 / Math.sqrt((double) inChannels / groups * kernelSize * kernelSize);
        this.weight = parameter(
                "weight", new Shape(outChannels, inChannels / groups, kernelSize, kernelSize), Init.uniform(bound));
        this.bias = bias ? parameter("bias", new Shape(outChannels), Init.uniform(bound)) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != inChannels) {
            throw new IllegalArgumentException(
                    "Conv2d expects input [B, " + inChannels + ", H, W], got " + s);
        }
        return F.conv2d(x, weight.getArray(), bias == null ? null : bias.getArray(), stride, padding, groups);
    }

    /**
     * The {@code weight} parameter [out, in/groups, k, k].
     *
     * @return the slot [C_out, C_in / groups, k, k], initialised {@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))}
     */
    public Parameter getWeight() {
        return weight;
    }

    /**
     * The {@code bias} parameter, or null.
     *
     * @return the slot [C_out], or null when built with {@code bias=false}
     */
    public Parameter getBias() {
        return bias;
    }

    /**
     * Input channels.
     *
     * @return C_in
     */
    public int getInChannels() {
        return inChannels;
    }

    /**
     * Output channels.
     *
     * @return C_out
     */
    public int getOutChannels() {
        return outChannels;
    }
}
