package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/** Port of openaimodel's {@code Downsample} (2-D): a stride-2 3x3 conv ({@code op}) or 2x2 average pooling. */
public class Downsample extends Module implements UnaryModule {

    private final int channels;
    private final Conv2d op;

    /**
     * {@code Downsample(channels, use_conv, dims=2, out_channels, padding=1)}.
     *
     * @param channels the number of input channels
     * @param useConv whether to apply a 3x3 convolution after resampling
     * @param outChannels the number of output channels, or null for the input channel count
     * @param padding the convolution padding (the reference uses 1)
     */
    public Downsample(int channels, boolean useConv, Integer outChannels, int padding) {
        int out = outChannels == null ? channels : outChannels;
        this.channels = channels;
        if (useConv) {
            this.op = register("op", new Conv2d(channels, out, 3, 2, padding));
        } else {
            if (out != channels) {
                throw new IllegalArgumentException("Downsample by pooling cannot change channels " + channels + " -> " + out);
            }
            this.op = null;
        }
    }

    @Override
    public NDArray forward(NDArray x) {
        if (x.getShape().get(1) != channels) {
            throw new IllegalArgumentException("Downsample expects " + channels + " channels, got " + x.getShape());
        }
        return op != null ? op.forward(x) : F.avgPool2d(x, 2, 2);
    }
}
