package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Dropout;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Sequential;
import io.github.sgm4j.nn.UnaryModule;

/**
 * LPIPS's {@code NetLinLayer(chn_in, chn_out=1, use_dropout)}: {@code model} = [{@code
 * Dropout(0.5)} at {@code model.0} when {@code use_dropout}], 1x1 {@code Conv2d(chn_in, chn_out,
 * bias=False)} ({@code model.1.weight}, or {@code model.0.weight} without dropout).
 */
public class NetLinLayer extends Module implements UnaryModule {

    private final Sequential model;
    private final int chnIn;

    /**
     * {@code NetLinLayer(chn_in, chn_out, use_dropout)}.
     *
     * @param chnIn input channels
     * @param chnOut output channels (1 in LPIPS)
     * @param useDropout whether {@code model.0} is a {@code Dropout(0.5)}
     */
    public NetLinLayer(int chnIn, int chnOut, boolean useDropout) {
        this.chnIn = chnIn;
        Sequential seq = new Sequential();
        if (useDropout) {
            seq.add(new Dropout(0.5));
        }
        seq.add(new Conv2d(chnIn, chnOut, 1, 1, 0, 1, false));
        this.model = register("model", seq);
    }

    /**
     * {@code model(x)}.
     *
     * @param x features [B, chn_in, H, W]
     * @return [B, chn_out, H, W]
     * @throws IllegalArgumentException if {@code x} does not have chn_in channels
     */
    @Override
    public NDArray forward(NDArray x) {
        if (x.getShape().dimension() != 4 || x.getShape().get(1) != chnIn) {
            throw new IllegalArgumentException(
                    "NetLinLayer expects input [B, " + chnIn + ", H, W], got " + x.getShape());
        }
        return model.forward(x);
    }
}
