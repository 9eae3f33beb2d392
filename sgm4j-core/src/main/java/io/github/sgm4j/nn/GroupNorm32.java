package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Port of openaimodel's {@code GroupNorm32}: a GroupNorm computed in float32 whatever the input
 * dtype, cast back afterwards. {@code normalization(channels)} is {@code GroupNorm32(32, channels)}
 * with torch's default eps 1e-5.
 */
public class GroupNorm32 extends GroupNorm {

    /**
     * {@code GroupNorm32(num_groups, num_channels)} with eps 1e-5.
     *
     * @param numGroups number of groups G
     * @param numChannels channels C, divisible by G
     * @throws IllegalArgumentException if C is not divisible by G
     */
    public GroupNorm32(int numGroups, int numChannels) {
        super(numGroups, numChannels, 1e-5);
    }

    /**
     * {@code GroupNorm32(num_groups, num_channels, eps)}.
     *
     * @param numGroups number of groups G
     * @param numChannels channels C, divisible by G
     * @param eps added to the variance
     * @throws IllegalArgumentException if C is not divisible by G
     */
    public GroupNorm32(int numGroups, int numChannels, double eps) {
        super(numGroups, numChannels, eps);
    }

    /**
     * {@code normalization(channels)}: 32 groups, eps 1e-5.
     *
     * @param channels channels C, divisible by 32
     * @return a new GroupNorm32(32, C)
     * @throws IllegalArgumentException if C is not divisible by 32
     */
    public static GroupNorm32 normalization(int channels) {
        return new GroupNorm32(32, channels);
    }

    @Override
    public NDArray forwardSilu(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return super.forwardSilu(x);
        }
        try (NDArray y = forward(x)) {
            return F.silu(y);
        }
    }

    @Override
    public NDArray forward(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return super.forward(x);
        }
        try (NDArray x32 = x.toType(DataType.FLOAT32, false);
                NDArray y = super.forward(x32)) {
            return y.toType(x.getDataType(), false);
        }
    }
}
