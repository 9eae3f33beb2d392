package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
 * ceil_mode=False)} with square windows (dilation 1).
 */
public class MaxPool2d extends Module implements UnaryModule {

    /**
     * Constructor arguments with torch's defaults.
     *
     * @param kernelSize the square window
     * @param stride the stride (torch's default: the kernel size)
     * @param padding implicit padding on each side (0)
     * @param ceilMode round the output size up (false)
     */
    public record Params(int kernelSize, int stride, int padding, boolean ceilMode) {
        /**
         * Validates like torch.
         *
         * @param kernelSize the square window, positive
         * @param stride the stride, positive
         * @param padding implicit padding on each side, at most half the kernel size
         * @param ceilMode round the output size up
         * @throws IllegalArgumentException if an argument is out of range
         */
        public Params {
            if (kernelSize <= 0 || stride <= 0 || padding < 0) {
                throw new IllegalArgumentException(String.format(
                        "MaxPool2d: invalid kernel_size=%d stride=%d padding=%d", kernelSize, stride, padding));
            }
            if (padding > kernelSize / 2) {
                throw new IllegalArgumentException(
                        "MaxPool2d: padding should be at most half of kernel size, got padding " + padding
                                + " for kernel " + kernelSize);
            }
        }
    }

    private final Params params;

    /**
     * {@code nn.MaxPool2d(kernel_size, stride)}.
     *
     * @param kernelSize the square window
     * @param stride the stride
     */
    public MaxPool2d(int kernelSize, int stride) {
        this(new Params(kernelSize, stride, 0, false));
    }

    /**
     * {@code nn.MaxPool2d(kernel_size, stride, padding, ceil_mode=...)}.
     *
     * @param params the arguments
     */
    public MaxPool2d(Params params) {
        this.params = params;
    }

    /**
     * Builds {@code torch.nn.MaxPool2d} ({@code kernel_size}, {@code stride} default kernel size,
     * {@code padding}, {@code ceil_mode}; {@code dilation} must be 1).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the layer
     */
    public static MaxPool2d fromConfig(ConfigNode p, Instantiator inst) {
        int k = p.getInt("kernel_size");
        if (p.has("dilation") && p.getInt("dilation") != 1) {
            throw new io.github.sgm4j.config.ConfigException(p.pathOf("dilation"), "only dilation=1 is supported");
        }
        p.ignore("return_indices");
        int stride = p.isNull("stride") ? k : p.getInt("stride", k);
        return new MaxPool2d(new Params(k, stride, p.getInt("padding", 0), p.getBoolean("ceil_mode", false)));
    }

    /**
     * The pooling.
     *
     * @param x the input [B, C, H, W]
     * @return the pooled array [B, C, H', W']
     * @throws IllegalArgumentException if {@code x} is not 4-d or smaller than the window
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("MaxPool2d expects input [B, C, H, W], got " + s);
        }
        int k = params.kernelSize();
        if (s.get(2) + 2L * params.padding() < k || s.get(3) + 2L * params.padding() < k) {
            throw new IllegalArgumentException(
                    "MaxPool2d: input " + s + " is smaller than the " + k + "x" + k + " window");
        }
        return F.maxPool2d(x, k, params.stride(), params.padding(), params.ceilMode());
    }

    /**
     * The constructor arguments.
     *
     * @return the params
     */
    public Params getParams() {
        return params;
    }
}
