package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of the learned perceptual metric {@code LPIPS(use_dropout=True)} of sgm ({@code
 * sgm.modules.autoencoding.lpips.loss.lpips}) and taming ({@code taming.modules.losses.lpips}).
 *
 * <p>Keys: {@code scaling_layer.shift/scale}, {@code net.slice1..5.<i>.weight/bias} (torchvision
 * VGG16 {@code features} indices, see {@link Vgg16Features}) and {@code lin0..4.model.1.weight}
 * ({@link NetLinLayer}, a {@code Dropout} at {@code model.0}). Every parameter is frozen ({@code
 * requires_grad = False}). The reference loads the {@code vgg_lpips} checkpoint and torchvision's
 * pretrained VGG16 in its constructor; sgm4j downloads nothing: load both with {@link
 * #loadStateDict} (torchvision keys can be renamed with {@link Vgg16Features#fromTorchvision}).
 *
 * <p>Forward: both images through the scaling layer and VGG16; per layer {@code k} the
 * channel-normalised features' squared difference goes through {@code lin<k>} (dropout active only
 * in training mode, as under Lightning's {@code model.train()}), is averaged spatially, and the
 * five results are summed: [B, 1, 1, 1].
 */
public class LPIPS extends Module {

    /** Channels of the five VGG16 activations. */
    public static final int[] CHNS = {64, 128, 256, 512, 512};

    /**
     * Constructor arguments with the reference default.
     *
     * @param useDropout whether each lin layer starts with {@code Dropout(0.5)} (true)
     */
    public record Params(boolean useDropout) {}

    /**
     * The value and the per-layer maps.
     *
     * @param value the metric [B, 1, 1, 1]
     * @param maps {@code lin<k>.model(diff<k>)} before spatial averaging, [B, 1, h_k, w_k]
     */
    public record Result(NDArray value, List<NDArray> maps) {}

    private final ScalingLayer scalingLayer;
    private final Vgg16Features net;
    private final NetLinLayer[] lins = new NetLinLayer[5];

    /**
     * {@code LPIPS(use_dropout)} with unallocated weights (load them, see the class comment).
     *
     * @param params the arguments
     */
    public LPIPS(Params params) {
        this.scalingLayer = register("scaling_layer", new ScalingLayer());
        this.net = register("net", new Vgg16Features());
        for (int k = 0; k < 5; k++) {
            lins[k] = register("lin" + k, new NetLinLayer(CHNS[k], 1, params.useDropout()));
        }
        requiresGrad(false);
    }

    /**
     * {@code LPIPS()}: with dropout.
     */
    public LPIPS() {
        this(new Params(true));
    }

    /**
     * Builds from {@code sgm.modules.autoencoding.lpips.loss.lpips.LPIPS} / {@code
     * taming.modules.losses.lpips.LPIPS} params ({@code use_dropout}).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the metric (weights to be loaded)
     */
    public static LPIPS fromConfig(ConfigNode p, Instantiator inst) {
        return new LPIPS(new Params(p.getBoolean("use_dropout", true)));
    }

    /**
     * {@code normalize_tensor(x, eps)}: {@code x / (sqrt(sum(x^2, dim=1, keepdim)) + eps)}.
     *
     * @param x features [B, C, H, W]
     * @param eps the denominator term (1e-10 in LPIPS)
     * @return the channel-normalised features
     */
    public static NDArray normalizeTensor(NDArray x, double eps) {
        try (NDArray sq = x.mul(x);
                NDArray s = sq.sum(new int[] {1}, true);
                NDArray norm = s.sqrt();
                NDArray d = F.add(norm, eps)) {
            return x.div(d);
        }
    }

    /**
     * {@code spatial_average(x, keepdim=True)}: the mean over dims 2 and 3.
     *
     * @param x [B, C, H, W]
     * @return [B, C, 1, 1]
     */
    public static NDArray spatialAverage(NDArray x) {
        Shape s = x.getShape();
        // one reduction over the contiguous H*W elements, as torch's mean over (2, 3)
        try (NDArray flat = x.reshape(s.get(0), s.get(1), s.get(2) * s.get(3));
                NDArray m = flat.mean(new int[] {2}, true)) {
            return m.reshape(s.get(0), s.get(1), 1, 1);
        }
    }

    /**
     * {@code forward(input, target)}.
     *
     * @param input images [B, 3, H, W] in [-1, 1]
     * @param target images of the same shape
     * @return the distance [B, 1, 1, 1]
     */
    public NDArray forward(NDArray input, NDArray target) {
        Result r = forwardWithMaps(input, target);
        for (NDArray m : r.maps()) {
            m.close();
        }
        return r.value();
    }

    /**
     * The forward pass keeping the per-layer maps.
     *
     * @param input images [B, 3, H, W] in [-1, 1]
     * @param target images of the same shape
     * @return the distance and the five maps
     * @throws IllegalArgumentException if the shapes differ or are not [B, 3, H, W] with H, W >= 16
     */
    public Result forwardWithMaps(NDArray input, NDArray target) {
        if (!input.getShape().equals(target.getShape())) {
            throw new IllegalArgumentException(
                    "LPIPS: input " + input.getShape() + " and target " + target.getShape() + " differ in shape");
        }
        NDList outs0;
        NDList outs1;
        try (NDArray in0 = scalingLayer.forward(input);
                NDArray in1 = scalingLayer.forward(target)) {
            outs0 = net.forward(in0);
            outs1 = net.forward(in1);
        }
        List<NDArray> maps = new ArrayList<>();
        NDArray val = null;
        try {
            for (int k = 0; k < 5; k++) {
                NDArray map;
                try (NDArray f0 = normalizeTensor(outs0.get(k), 1e-10);
                        NDArray f1 = normalizeTensor(outs1.get(k), 1e-10);
                        NDArray d = f0.sub(f1);
                        NDArray diff = d.mul(d)) {
                    map = lins[k].forward(diff);
                }
                maps.add(map);
                NDArray res = spatialAverage(map);
                if (val == null) {
                    val = res;
                } else {
                    NDArray sum = val.add(res);
                    val.close();
                    res.close();
                    val = sum;
                }
            }
        } finally {
            outs0.close();
            outs1.close();
        }
        return new Result(val, maps);
    }

    /**
     * The VGG16 feature extractor ({@code net}).
     *
     * @return the module
     */
    public Vgg16Features getNet() {
        return net;
    }

    /**
     * Input shape check helper for callers that validate early.
     *
     * @param s a shape
     * @return whether LPIPS accepts images of that shape
     */
    public static boolean accepts(Shape s) {
        return s.dimension() == 4 && s.get(1) == 3 && s.get(2) >= 16 && s.get(3) >= 16;
    }
}
