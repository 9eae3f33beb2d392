package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.UnaryModule;

/**
 * LPIPS's {@code ScalingLayer}: {@code (x - shift) / scale} with the persistent buffers {@code
 * shift} = [-.030, -.088, -.188] and {@code scale} = [.458, .448, .450], both [1, 3, 1, 1].
 */
public class ScalingLayer extends Module implements UnaryModule {

    private final Parameter shift;
    private final Parameter scale;

    /** The layer with the reference constants. */
    public ScalingLayer() {
        Shape s = new Shape(1, 3, 1, 1);
        this.shift = buffer("shift", s, DataType.FLOAT32, constant(new float[] {-.030f, -.088f, -.188f}), true);
        this.scale = buffer("scale", s, DataType.FLOAT32, constant(new float[] {.458f, .448f, .450f}), true);
    }

    private static Init constant(float[] values) {
        return (m, s, d, n) -> Tensors.create(m, values, s);
    }

    /**
     * The scaling.
     *
     * @param x images [B, 3, H, W] in [-1, 1]
     * @return {@code (x - shift) / scale}
     * @throws IllegalArgumentException if {@code x} is not [B, 3, H, W]
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != 3) {
            throw new IllegalArgumentException("LPIPS ScalingLayer expects RGB input [B, 3, H, W], got " + s);
        }
        try (NDArray d = x.sub(shift.getArray())) {
            return d.div(scale.getArray());
        }
    }
}
