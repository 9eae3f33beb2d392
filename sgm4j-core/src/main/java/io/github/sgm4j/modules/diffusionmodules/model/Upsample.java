package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/** Port of {@code sgm.modules.diffusionmodules.model.Upsample}: nearest x2, optional 3x3 {@code conv}. */
public class Upsample extends Module implements UnaryModule {

    private final Conv2d conv;

    /**
     * {@code Upsample(in_channels, with_conv)}.
     *
     * @param inChannels the number of input channels
     * @param withConv whether to apply a 3x3 convolution (else plain resampling)
     */
    public Upsample(int inChannels, boolean withConv) {
        this.conv = withConv ? register("conv", new Conv2d(inChannels, inChannels, 3, 1, 1)) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray up = F.upsampleNearest2x(x);
        if (conv == null) {
            return up;
        }
        try (up) {
            return conv.forward(up);
        }
    }
}
