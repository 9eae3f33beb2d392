package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;

/**
 * Port of {@code torch.nn.BatchNorm2d(num_features, eps, momentum, affine=True,
 * track_running_stats=True)}, keys {@code weight}, {@code bias}, {@code running_mean}, {@code
 * running_var}, {@code num_batches_tracked}.
 *
 * <p>In training mode the forward normalises with the batch statistics (biased variance),
 * increments {@code num_batches_tracked} and updates the running statistics in place with the
 * unbiased batch variance ({@code momentum} 0.1 by default; a null momentum is torch's cumulative
 * average {@code 1 / num_batches_tracked}). In eval mode it uses the running statistics.
 */
public class BatchNorm2d extends Module implements UnaryModule {

    /**
     * {@code torch.nn.BatchNorm2d} constructor arguments with torch's defaults.
     *
     * @param numFeatures channels C
     * @param eps variance epsilon (1e-5)
     * @param momentum running-average factor (0.1), or null for the cumulative average
     */
    public record Params(int numFeatures, double eps, Double momentum) {
        /**
         * Validates the arguments.
         *
         * @param numFeatures channels C, positive
         * @param eps variance epsilon, positive
         * @param momentum running-average factor in [0, 1], or null for the cumulative average
         * @throws IllegalArgumentException if an argument is out of range
         */
        public Params {
            if (numFeatures <= 0) {
                throw new IllegalArgumentException("BatchNorm2d: num_features must be positive, got " + numFeatures);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("BatchNorm2d: eps must be positive, got " + eps);
            }
            if (momentum != null && (momentum < 0 || momentum > 1)) {
                throw new IllegalArgumentException("BatchNorm2d: momentum must be in [0, 1], got " + momentum);
            }
        }
    }

    private final Params params;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter runningMean;
    private final Parameter runningVar;
    private final Parameter numBatchesTracked;

    /**
     * {@code nn.BatchNorm2d(num_features)}: eps 1e-5, momentum 0.1.
     *
     * @param numFeatures channels C
     */
    public BatchNorm2d(int numFeatures) {
        this(new Params(numFeatures, 1e-5, 0.1));
    }

    /**
     * {@code nn.BatchNorm2d(num_features, eps, momentum)}.
     *
     * @param params the arguments
     */
    public BatchNorm2d(Params params) {
        this.params = params;
        Shape c = new Shape(params.numFeatures());
        this.weight = parameter("weight", c, Init.ones());
        this.bias = parameter("bias", c, Init.zeros());
        this.runningMean = buffer("running_mean", c, DataType.FLOAT32, Init.zeros(), true);
        this.runningVar = buffer("running_var", c, DataType.FLOAT32, Init.ones(), true);
        this.numBatchesTracked = buffer("num_batches_tracked", new Shape(), DataType.INT64,
                (m, s, d, n) -> m.zeros(s, d), true);
    }

    /**
     * Builds {@code torch.nn.BatchNorm2d} from config params ({@code num_features}, {@code eps},
     * {@code momentum}).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the layer
     */
    public static BatchNorm2d fromConfig(ConfigNode p, Instantiator inst) {
        Double momentum = p.has("momentum") ? p.getDoubleOrNull("momentum") : Double.valueOf(0.1);
        if (p.has("affine") && !p.getBoolean("affine")) {
            throw new io.github.sgm4j.config.ConfigException(p.pathOf("affine"), "only affine=True is supported");
        }
        if (p.has("track_running_stats") && !p.getBoolean("track_running_stats")) {
            throw new io.github.sgm4j.config.ConfigException(p.pathOf("track_running_stats"),
                    "only track_running_stats=True is supported");
        }
        return new BatchNorm2d(new Params(p.getInt("num_features"), p.getDouble("eps", 1e-5), momentum));
    }

    /**
     * The forward pass (see the class comment for training vs eval mode).
     *
     * @param x the input [B, C, H, W]
     * @return the normalised input, same shape
     * @throws IllegalArgumentException if {@code x} is not 4-d with C channels
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != params.numFeatures()) {
            throw new IllegalArgumentException(
                    "BatchNorm2d expects input [B, " + params.numFeatures() + ", H, W], got " + s);
        }
        double factor = 0.0;
        if (isTraining()) {
            if (s.get(0) * s.get(2) * s.get(3) <= 1) {
                throw new IllegalArgumentException(
                        "BatchNorm2d: expected more than 1 value per channel when training, got input " + s);
            }
            NDArray n = numBatchesTracked.getArray();
            try (NDArray one = Tensors.scalar(n, 1, DataType.INT64)) {
                n.addi(one);
            }
            factor = params.momentum() != null ? params.momentum() : 1.0 / n.getLong();
        }
        return F.batchNorm(x, runningMean.getArray(), runningVar.getArray(), weight.getArray(), bias.getArray(),
                isTraining(), factor, params.eps());
    }

    /**
     * The constructor arguments.
     *
     * @return the params
     */
    public Params getParams() {
        return params;
    }

    /**
     * The {@code weight} parameter [C].
     *
     * @return the slot
     */
    public Parameter getWeight() {
        return weight;
    }

    /**
     * The {@code bias} parameter [C].
     *
     * @return the slot
     */
    public Parameter getBias() {
        return bias;
    }
}
