package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/** Port of openaimodel's {@code Upsample} (2-D): nearest x2, then an optional 3x3 {@code conv}. */
public class Upsample extends Module implements UnaryModule {

    private final int channels;
    private final Conv2d conv;

    /**
     * {@code Upsample(channels, use_conv, dims=2, out_channels, padding=1)}.
     *
     * @param channels the number of input channels
     * @param useConv whether to apply a 3x3 convolution after resampling
     * @param outChannels the number of output channels, or null for the input channel count
     * @param padding the convolution padding (the reference uses 1)
     */
    public Upsample(int channels, boolean useConv, Integer outChannels, int padding) {
        this.channels = channels;
        int out = outChannels == null ? channels : outChannels;
        this.conv = useConv ? register("conv", new Conv2d(channels, out, 3, 1, padding)) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        if (x.getShape().get(1) != channels) {
            throw new IllegalArgumentException("Upsample expects " + channels + " channels, got " + x.getShape());
        }
        NDArray up = F.upsampleNearest2x(x);
        if (conv == null) {
            return up;
        }
        try (up) {
            return conv.forward(up);
        }
    }
}
