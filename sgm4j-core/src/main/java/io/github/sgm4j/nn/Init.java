package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.noise.NoiseSource;

/**
 * How a parameter or buffer is filled when a module is initialised without a checkpoint.
 *
 * <p>The factories mirror PyTorch's default initialisers ({@code reset_parameters}) so that a
 * model trained from scratch starts like its Python twin (not bit-identically: the draws differ).
 */
@FunctionalInterface
public interface Init {

    /**
     * Creates the initial array.
     *
     * @param manager the manager that owns the array
     * @param shape the shape fixed at construction
     * @param dataType the dtype fixed at construction
     * @param noise the source of random draws
     * @return a new array of {@code shape} and {@code dataType}
     */
    NDArray create(NDManager manager, Shape shape, DataType dataType, NoiseSource noise);

    /**
     * All zeros ({@code zero_module}, biases of norms).
     *
     * @return an initialiser ignoring the noise source
     */
    static Init zeros() {
        return (m, s, d, n) -> m.zeros(s, d);
    }

    /**
     * All ones (norm weights).
     *
     * @return an initialiser ignoring the noise source
     */
    static Init ones() {
        return (m, s, d, n) -> m.ones(s, d);
    }

    /**
     * {@code U(-bound, bound)}: torch's {@code kaiming_uniform_(a=sqrt(5))} and bias init.
     *
     * @param bound the half-width of the interval (torch uses {@code 1 / sqrt(fan_in)})
     * @return an initialiser drawing one {@code rand} of the shape from the noise source
     */
    static Init uniform(double bound) {
        return (m, s, d, n) -> {
            try (NDArray r = n.rand(m, s);
                    NDArray scaled = F.mul(r, 2 * bound)) {
                NDArray out = F.sub(scaled, bound);
                if (out.getDataType() == d) {
                    return out;
                }
                try (out) {
                    return out.toType(d, false);
                }
            }
        };
    }

    /**
     * {@code N(0, std)} (embeddings: std 1).
     *
     * @param std the standard deviation
     * @return an initialiser drawing one {@code randn} of the shape from the noise source
     */
    static Init normal(double std) {
        return (m, s, d, n) -> {
            try (NDArray r = n.randn(m, s)) {
                NDArray out = F.mul(r, std);
                if (out.getDataType() == d) {
                    return out;
                }
                try (out) {
                    return out.toType(d, false);
                }
            }
        };
    }

    /**
     * Fixed values computed at construction (schedules, sigmas); row-major.
     *
     * @param values the elements in row-major order; their count must equal the shape's size
     * @return an initialiser converting the values to the slot's dtype
     */
    static Init values(double[] values) {
        return (m, s, d, n) -> Tensors.create(m, values).reshape(s).toType(d, false);
    }

    /**
     * Fixed values computed at construction (schedules, sigmas); row-major.
     *
     * @param values the elements in row-major order; their count must equal the shape's size
     * @return an initialiser converting the values to the slot's dtype
     */
    static Init values(float[] values) {
        return (m, s, d, n) -> Tensors.create(m, values).reshape(s).toType(d, false);
    }

    /**
     * A scalar constant of the tensor's dtype.
     *
     * @param value the fill value (rounded to float32 first)
     * @return an initialiser filling the shape with {@code value}
     */
    static Init constant(double value) {
        return (m, s, d, n) -> m.full(s, (float) value, DataType.FLOAT32).toType(d, false);
    }
}
