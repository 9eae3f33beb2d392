package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Port of {@code torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)}. */
public class LayerNorm extends Module implements UnaryModule {

    private final Shape normalizedShape;
    private final double eps;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * {@code nn.LayerNorm(dim)}: eps 1e-5, affine.
     *
     * @param dim the size of the last dimension, normalised
     */
    public LayerNorm(int dim) {
        this(new Shape(dim), 1e-5, true);
    }

    /**
     * {@code nn.LayerNorm(normalized_shape, eps, elementwise_affine)}.
     *
     * @param normalizedShape the trailing dimensions normalised together
     * @param eps added to the variance
     * @param elementwiseAffine whether the layer has {@code weight} (ones) and {@code bias} (zeros)
     *     parameters of {@code normalizedShape}
     */
    public LayerNorm(Shape normalizedShape, double eps, boolean elementwiseAffine) {
        this.normalizedShape = normalizedShape;
        this.eps = eps;
        this.weight = elementwiseAffine ? parameter("weight", normalizedShape, Init.ones()) : null;
        this.bias = elementwiseAffine ? parameter("bias", normalizedShape, Init.zeros()) : null;
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        int n = normalizedShape.dimension();
        if (s.dimension() < n || !s.slice(s.dimension() - n).equals(normalizedShape)) {
            throw new IllegalArgumentException(
                    "LayerNorm" + normalizedShape + " expects input [..., " + normalizedShape + "], got " + s);
        }
        return F.layerNorm(
                x, normalizedShape, weight == null ? null : weight.getArray(), bias == null ? null : bias.getArray(), eps);
    }
}
