package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code ActNorm(num_features, logdet=False, affine=True)} (sgm {@code
 * sgm.modules.autoencoding.lpips.util}, taming {@code taming.modules.util}): {@code scale * (x +
 * loc)} with parameters {@code loc} [1, C, 1, 1] (zeros) and {@code scale} [1, C, 1, 1] (ones) and
 * the uint8 buffer {@code initialized}.
 *
 * <p>Data-dependent initialisation: the first forward in training mode while {@code initialized ==
 * 0} sets {@code loc = -mean} and {@code scale = 1 / (std + 1e-6)} per channel (unbiased std over
 * batch and space, without gradient), then sets {@code initialized = 1}. A loaded checkpoint with
 * {@code initialized = 1} keeps its values.
 */
public class ActNorm extends Module implements UnaryModule {

    private final int numFeatures;
    private final Parameter loc;
    private final Parameter scale;
    private final Parameter initialized;

    /**
     * {@code ActNorm(num_features)}.
     *
     * @param numFeatures channels C
     */
    public ActNorm(int numFeatures) {
        if (numFeatures <= 0) {
            throw new IllegalArgumentException("ActNorm: num_features must be positive, got " + numFeatures);
        }
        this.numFeatures = numFeatures;
        Shape s = new Shape(1, numFeatures, 1, 1);
        this.loc = parameter("loc", s, Init.zeros());
        this.scale = parameter("scale", s, Init.ones());
        this.initialized = buffer("initialized", new Shape(), DataType.UINT8, (m, sh, d, n) -> m.zeros(sh, d), true);
    }

    /**
     * Whether the data-dependent initialisation has happened ({@code initialized.item() != 0}).
     *
     * @return the flag
     */
    public boolean isInitializedFromData() {
        try (NDArray i = initialized.getArray().toType(DataType.INT32, false)) {
            return i.getInt() != 0;
        }
    }

    /**
     * The forward pass (2-d inputs [B, C] are treated as [B, C, 1, 1], as in the reference).
     *
     * @param x [B, C, H, W] or [B, C]
     * @return {@code scale * (x + loc)}, shape of {@code x}
     * @throws IllegalArgumentException if {@code x} does not have C channels
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        boolean squeeze = s.dimension() == 2;
        if ((s.dimension() != 4 && !squeeze) || s.get(1) != numFeatures) {
            throw new IllegalArgumentException(
                    "ActNorm expects input [B, " + numFeatures + ", H, W] or [B, " + numFeatures + "], got " + s);
        }
        NDArray in = squeeze ? x.reshape(s.get(0), s.get(1), 1, 1) : x;
        try {
            if (isTraining() && !isInitializedFromData()) {
                initializeFrom(in);
            }
            NDArray h;
            try (NDArray shifted = in.add(loc.getArray())) {
                h = scale.getArray().mul(shifted);
            }
            if (squeeze) {
                try (h) {
                    return h.reshape(s);
                }
            }
            return h;
        } finally {
            if (in != x) {
                in.close();
            }
        }
    }

    private void initializeFrom(NDArray input) {
        boolean prev = F.setGradEnabled(false);
        try {
            Shape s = input.getShape();
            long c = s.get(1);
            long n = s.size() / c;
            if (n < 2) {
                throw new IllegalArgumentException("ActNorm: data-dependent init needs more than one value per channel, got " + s);
            }
            try (NDArray flat0 = input.swapAxes(0, 1);
                    NDArray flat = flat0.reshape(c, -1);
                    NDArray mean = flat.mean(new int[] {1}, true);
                    NDArray diff = flat.sub(mean);
                    NDArray sq = diff.mul(diff);
                    NDArray ss = sq.sum(new int[] {1});
                    NDArray var = F.div(ss, n - 1);
                    NDArray std = var.sqrt();
                    NDArray stdEps = F.add(std, 1e-6);
                    NDArray inv = F.rdiv(1.0, stdEps);
                    NDArray negMean = mean.neg()) {
                var m = getManager();
                loc.setArray(negMean.reshape(1, c, 1, 1), m);
                scale.setArray(inv.reshape(1, c, 1, 1), m);
                try (NDArray one = initialized.getArray().onesLike()) {
                    initialized.setArray(one, m);
                }
            }
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * Channels.
     *
     * @return C
     */
    public int getNumFeatures() {
        return numFeatures;
    }
}
