package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code sgm.modules.diffusionmodules.model.Downsample}: pad (0, 1, 0, 1) then a stride-2
 * 3x3 {@code conv} without padding, or 2x2 average pooling.
 */
public class Downsample extends Module implements UnaryModule {

    private final Conv2d conv;

    /**
     * {@code Downsample(in_channels, with_conv)}.
     *
     * @param inChannels the number of input channels
     * @param withConv whether to apply a 3x3 convolution (else plain resampling)
     */
    public Downsample(int inChannels, boolean withConv) {
        this.conv = withConv ? register("conv", new Conv2d(inChannels, inChannels, 3, 2, 0)) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        if (conv == null) {
            return F.avgPool2d(x, 2, 2);
        }
        try (NDArray padded = F.pad(x, new long[] {0, 1, 0, 1}, 0)) {
            return conv.forward(padded);
        }
    }
}
