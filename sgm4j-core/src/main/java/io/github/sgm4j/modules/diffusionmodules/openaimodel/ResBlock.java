package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Dropout;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GroupNorm32;
import io.github.sgm4j.nn.Identity;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Sequential;
import io.github.sgm4j.nn.SiLU;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of openaimodel's {@code ResBlock}: {@code in_layers} (GroupNorm32, SiLU, conv), the
 * timestep projection {@code emb_layers} (SiLU, linear; doubled for {@code use_scale_shift_norm}),
 * {@code out_layers} (GroupNorm32, SiLU, Dropout, zero-initialised conv), optional up/down
 * resampling, and {@code skip_connection} (Identity, 3x3 or 1x1 conv).
 */
public class ResBlock extends Module implements TimestepBlock {

    private final int channels;
    private final int outChannels;
    private final boolean useScaleShiftNorm;
    private final boolean updown;
    private final Sequential inLayers;
    private final UnaryModule hUpd;
    private final UnaryModule xUpd;
    private final Sequential embLayers;
    private final Sequential outLayers;
    private final Module skipConnection;

    /**
     * {@code ResBlock(channels, emb_channels, dropout, out_channels, use_conv, use_scale_shift_norm,
     * dims=2, up, down)} with kernel size 3.
     *
     * @param channels the number of input channels
     * @param embChannels the timestep embedding dimension
     * @param dropout the dropout probability (0 disables it)
     * @param outChannels the number of output channels, or null for the input channel count
     * @param useConv whether a channel-changing skip uses a 3x3 convolution (else 1x1)
     * @param useScaleShiftNorm whether the embedding gives scale and shift of the output norm (else it is
     *     added)
     * @param up whether the block upsamples
     * @param down whether the block downsamples
     */
    public ResBlock(int channels, int embChannels, double dropout, Integer outChannels, boolean useConv,
            boolean useScaleShiftNorm, boolean up, boolean down) {
        this.channels = channels;
        this.outChannels = outChannels == null ? channels : outChannels;
        this.useScaleShiftNorm = useScaleShiftNorm;
        this.inLayers = register("in_layers", new Sequential(
                GroupNorm32.normalization(channels), new SiLU(), new Conv2d(channels, this.outChannels, 3, 1, 1)));
        this.updown = up || down;
        if (up) {
            hUpd = new Upsample(channels, false, null, 1);
            xUpd = new Upsample(channels, false, null, 1);
        } else if (down) {
            hUpd = new Downsample(channels, false, null, 1);
            xUpd = new Downsample(channels, false, null, 1);
        } else {
            hUpd = new Identity();
            xUpd = new Identity();
        }
        int embOut = useScaleShiftNorm ? 2 * this.outChannels : this.outChannels;
        this.embLayers = register("emb_layers", new Sequential(new SiLU(), new Linear(embChannels, embOut)));
        this.outLayers = register("out_layers", new Sequential(
                GroupNorm32.normalization(this.outChannels), new SiLU(), new Dropout(dropout),
                zeroModule(new Conv2d(this.outChannels, this.outChannels, 3, 1, 1))));
        if (this.outChannels == channels) {
            this.skipConnection = register("skip_connection", new Identity());
        } else if (useConv) {
            this.skipConnection = register("skip_connection", new Conv2d(channels, this.outChannels, 3, 1, 1));
        } else {
            this.skipConnection = register("skip_connection", new Conv2d(channels, this.outChannels, 1, 1, 0));
        }
    }

    @Override
    public NDArray forward(NDArray x, NDArray emb) {
        if (x.getShape().get(1) != channels) {
            throw new IllegalArgumentException("ResBlock expects " + channels + " channels, got " + x.getShape());
        }
        NDArray h;
        NDArray xs;
        if (updown) {
            // in_rest, in_conv = in_layers[:-1], in_layers[-1]
            try (NDArray n = ((UnaryModule) inLayers.get(0)).forward(x);
                    NDArray a = ((UnaryModule) inLayers.get(1)).forward(n);
                    NDArray hu = hUpd.forward(a)) {
                xs = xUpd.forward(x);
                h = ((UnaryModule) inLayers.get(2)).forward(hu);
            }
        } else {
            h = inLayers.forward(x);
            xs = null;
        }
        NDArray out;
        try (NDArray e = embLayers.forward(emb);
                // [B, C] -> [B, C, 1, 1]
                NDArray embOut = e.toType(h.getDataType(), false).reshape(e.getShape().get(0), e.getShape().get(1), 1, 1)) {
            if (useScaleShiftNorm) {
                try (NDList ss = embOut.split(2, 1);
                        NDArray normed = ((UnaryModule) outLayers.get(0)).forward(h);
                        NDArray onePlus = F.add(ss.get(0), 1);
                        NDArray scaled = normed.mul(onePlus);
                        NDArray shifted = scaled.add(ss.get(1));
                        NDArray a = ((UnaryModule) outLayers.get(1)).forward(shifted);
                        NDArray d = ((UnaryModule) outLayers.get(2)).forward(a)) {
                    out = ((UnaryModule) outLayers.get(3)).forward(d);
                }
            } else {
                try (NDArray sum = h.add(embOut)) {
                    out = outLayers.forward(sum);
                }
            }
        }
        h.close();
        NDArray skipIn = xs == null ? x : xs;
        try (NDArray skip = ((UnaryModule) skipConnection).forward(skipIn);
                out) {
            return skip.add(out);
        } finally {
            if (xs != null) {
                xs.close();
            }
        }
    }

    /**
     * Output channels.
     *
     * @return the number of output channels
     */
    public int getOutChannels() {
        return outChannels;
    }
}
