package io.github.sgm4j.noise;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Every random draw sgm4j makes goes through a noise source, so tests can replay the draws the
 * Python reference recorded and users can seed runs reproducibly.
 *
 * <p>Method names follow the torch calls they replace: {@link #randn} is {@code torch.randn},
 * {@link #randnLike} is {@code torch.randn_like}, {@link #rand} is {@code torch.rand}, {@link
 * #randint} is {@code torch.randint} and {@link #bernoulli} is {@code torch.bernoulli}.
 */
public interface NoiseSource {

    /**
     * {@code torch.randn(shape)}: standard normal, float32, on {@code manager}'s device.
     *
     * @param manager the manager that owns the result
     * @param shape the shape of the draw
     * @return a new float32 array, owned by {@code manager}; the caller closes it
     */
    NDArray randn(NDManager manager, Shape shape);

    /**
     * {@code torch.randn_like(x)}: standard normal with the shape, dtype and device of {@code x}.
     *
     * @param x the template array
     * @return a new array owned by the manager of {@code x}; the caller closes it
     */
    NDArray randnLike(NDArray x);

    /**
     * {@code torch.rand(shape)}: uniform on [0, 1), float32.
     *
     * @param manager the manager that owns the result
     * @param shape the shape of the draw
     * @return a new float32 array, owned by {@code manager}; the caller closes it
     */
    NDArray rand(NDManager manager, Shape shape);

    /**
     * {@code torch.randint(low, high, shape)}: int64 uniform integers in [low, high).
     *
     * @param manager the manager that owns the result
     * @param low the smallest value (inclusive)
     * @param high the bound (exclusive)
     * @param shape the shape of the draw
     * @return a new int64 array, owned by {@code manager}; the caller closes it
     */
    NDArray randint(NDManager manager, long low, long high, Shape shape);

    /**
     * {@code torch.bernoulli(p)}: 0/1 draws with probabilities {@code p}, dtype of {@code p}.
     *
     * @param p probabilities in [0, 1], any shape
     * @return a new array of the shape and dtype of {@code p}, owned by its manager; the caller closes it
     */
    NDArray bernoulli(NDArray p);

    /**
     * The default source: the engine generator seeded like {@code torch.manual_seed(seed)}.
     *
     * @param seed the 64-bit seed
     * @return a new {@link TorchNoiseSource}
     */
    static NoiseSource seeded(long seed) {
        return new TorchNoiseSource(seed);
    }

    /**
     * Shorthand: {@code randn} returning the requested floating dtype.
     *
     * @param manager the manager that owns the result
     * @param shape the shape of the draw
     * @param dataType the dtype of the result (the float32 draw is converted if it differs)
     * @return a new array, owned by {@code manager}; the caller closes it
     */
    default NDArray randn(NDManager manager, Shape shape, DataType dataType) {
        NDArray x = randn(manager, shape);
        return x.getDataType() == dataType ? x : x.toType(dataType, false);
    }
}
