package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Port of {@code torch.nn.GroupNorm(num_groups, num_channels, eps, affine)}. */
public class GroupNorm extends Module implements UnaryModule {

    private final int numGroups;
    private final int numChannels;
    private final double eps;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * {@code nn.GroupNorm(num_groups, num_channels, eps=eps, affine=True)}.
     *
     * @param numGroups number of groups G
     * @param numChannels channels C, divisible by G
     * @param eps added to the variance
     * @throws IllegalArgumentException if C is not divisible by G
     */
    public GroupNorm(int numGroups, int numChannels, double eps) {
        this(numGroups, numChannels, eps, true);
    }

    /**
     * {@code nn.GroupNorm(num_groups, num_channels, eps=eps, affine=affine)}.
     *
     * @param numGroups number of groups G
     * @param numChannels channels C, divisible by G
     * @param eps added to the variance
     * @param affine whether the layer has per-channel {@code weight} (ones) and {@code bias} (zeros)
     *     parameters [C]
     * @throws IllegalArgumentException if C is not divisible by G
     */
    public GroupNorm(int numGroups, int numChannels, double eps, boolean affine) {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException(
                    "GroupNorm: num_channels (" + numChannels + ") must be divisible by num_groups (" + numGroups + ")");
        }
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        this.weight = affine ? parameter("weight", new Shape(numChannels), Init.ones()) : null;
        this.bias = affine ? parameter("bias", new Shape(numChannels), Init.zeros()) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() < 2 || s.get(1) != numChannels) {
            throw new IllegalArgumentException("GroupNorm expects input [B, " + numChannels + ", ...], got " + s);
        }
        return F.groupNorm(
                x, numGroups, weight == null ? null : weight.getArray(), bias == null ? null : bias.getArray(), eps);
    }

    /**
     * {@code silu(self(x))}: this layer followed by a SiLU, in one fused call where {@link
     * F#groupNormSilu} has one ({@link Sequential} uses it for a GroupNorm directly followed by a
     * {@link SiLU}).
     *
     * @param x input [B, C, ...]
     * @return the activated normalised array, shape of {@code x}
     * @throws IllegalArgumentException if {@code x} does not have C channels in dimension 1
     */
    public NDArray forwardSilu(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() < 2 || s.get(1) != numChannels) {
            throw new IllegalArgumentException("GroupNorm expects input [B, " + numChannels + ", ...], got " + s);
        }
        return F.groupNormSilu(
                x, numGroups, weight == null ? null : weight.getArray(), bias == null ? null : bias.getArray(), eps);
    }

    /**
     * Number of groups.
     *
     * @return G
     */
    public int getNumGroups() {
        return numGroups;
    }

    /**
     * Epsilon.
     *
     * @return the epsilon added to the variance
     */
    public double getEps() {
        return eps;
    }
}
