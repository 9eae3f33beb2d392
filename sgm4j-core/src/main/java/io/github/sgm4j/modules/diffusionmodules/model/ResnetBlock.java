package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Dropout;
import io.github.sgm4j.nn.GroupNorm;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;

/**
 * Port of {@code sgm.modules.diffusionmodules.model.ResnetBlock}: {@code norm1} → swish → {@code
 * conv1} (+ {@code temb_proj} of the timestep embedding when {@code temb_channels > 0}) → {@code
 * norm2} → swish → dropout → {@code conv2}, plus the input through {@code conv_shortcut} (3x3) or
 * {@code nin_shortcut} (1x1) when the channel count changes.
 */
public class ResnetBlock extends Module {

    private final int inChannels;
    private final int outChannels;
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear tembProj;
    private final GroupNorm norm2;
    private final Dropout dropout;
    private final Conv2d conv2;
    private final Conv2d shortcut;

    /**
     * {@code ResnetBlock(in_channels, out_channels, conv_shortcut, dropout, temb_channels)}.
     *
     * @param inChannels the number of input channels
     * @param outChannels the number of output channels, or null for {@code inChannels}
     * @param convShortcut whether a channel-changing shortcut is a 3x3 convolution (else 1x1)
     * @param dropout the dropout probability (0 disables it)
     * @param tembChannels the timestep embedding dimension, or 0 for none
     */
    public ResnetBlock(int inChannels, Integer outChannels, boolean convShortcut, double dropout, int tembChannels) {
        this.inChannels = inChannels;
        this.outChannels = outChannels == null ? inChannels : outChannels;
        this.norm1 = register("norm1", ModelUtil.normalize(inChannels));
        this.conv1 = register("conv1", new Conv2d(inChannels, this.outChannels, 3, 1, 1));
        this.tembProj = tembChannels > 0 ? register("temb_proj", new Linear(tembChannels, this.outChannels)) : null;
        this.norm2 = register("norm2", ModelUtil.normalize(this.outChannels));
        this.dropout = register("dropout", new Dropout(dropout));
        this.conv2 = register("conv2", new Conv2d(this.outChannels, this.outChannels, 3, 1, 1));
        if (inChannels != this.outChannels) {
            this.shortcut = convShortcut
                    ? register("conv_shortcut", new Conv2d(inChannels, this.outChannels, 3, 1, 1))
                    : register("nin_shortcut", new Conv2d(inChannels, this.outChannels, 1, 1, 0));
        } else {
            this.shortcut = null;
        }
    }

    /**
     * @param x [B, in_channels, H, W]
     * @param temb [B, temb_channels] or null
     * @return a new array {@code [B, out_channels, H, W]}
     */
    public NDArray forward(NDArray x, NDArray temb) {
        if (x.getShape().get(1) != inChannels) {
            throw new IllegalArgumentException("ResnetBlock expects " + inChannels + " channels, got " + x.getShape());
        }
        NDArray h;
        // norm1 -> swish in one call (F.groupNormSilu)
        try (NDArray a1 = norm1.forwardSilu(x)) {
            h = conv1.forward(a1);
        }
        if (temb != null && tembProj != null) {
            try (NDArray t = ModelUtil.nonlinearity(temb);
                    NDArray p = tembProj.forward(t);
                    NDArray p4 = p.reshape(p.getShape().get(0), p.getShape().get(1), 1, 1);
                    NDArray old = h) {
                h = old.add(p4);
            }
        }
        NDArray out;
        try (NDArray hh = h;
                NDArray a2 = norm2.forwardSilu(hh);
                NDArray d = dropout.forward(a2)) {
            out = conv2.forward(d);
        }
        try (out) {
            if (shortcut == null) {
                return x.add(out);
            }
            try (NDArray s = shortcut.forward(x)) {
                return s.add(out);
            }
        }
    }
}
