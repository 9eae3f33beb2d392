package io.github.sgm4j.noise;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;

/**
 * The default noise source: draws from libtorch's generator, which {@code seed} initialises
 * exactly like {@code torch.manual_seed(seed)}. On CPU, {@code new TorchNoiseSource(s).randn(m,
 * shape)} returns bit for bit what {@code torch.manual_seed(s); torch.randn(shape)} returns, and
 * so on for a sequence of draws.
 *
 * <p>libtorch's default generator is process-wide: two sources used in interleaved fashion share
 * one stream. {@link #reseed} restarts the stream (a trainer reseeds per step, which makes resumed
 * runs continue exactly).
 */
public final class TorchNoiseSource implements NoiseSource {

    private final long seed;

    /** Seeds the engine generator with {@code seed} ({@code torch.manual_seed}). */
    public TorchNoiseSource(long seed) {
        this.seed = seed;
        reseed(seed);
    }

    /** The seed this source was created with. */
    public long getSeed() {
        return seed;
    }

    /** Re-seeds the engine generator ({@code torch.manual_seed(seed)}). */
    public void reseed(long newSeed) {
        F.manualSeed(newSeed);
    }

    @Override
    public NDArray randn(NDManager manager, Shape shape) {
        return manager.randomNormal(0f, 1f, shape, DataType.FLOAT32);
    }

    @Override
    public NDArray randnLike(NDArray x) {
        DataType dt = x.getDataType().isFloating() ? x.getDataType() : DataType.FLOAT32;
        return x.getManager().randomNormal(0f, 1f, x.getShape(), dt, x.getDevice());
    }

    @Override
    public NDArray rand(NDManager manager, Shape shape) {
        return manager.randomUniform(0f, 1f, shape, DataType.FLOAT32);
    }

    @Override
    public NDArray randint(NDManager manager, long low, long high, Shape shape) {
        if (high <= low) {
            throw new IllegalArgumentException("randint: high (" + high + ") must be > low (" + low + ")");
        }
        return manager.randomInteger(low, high, shape, DataType.INT64);
    }

    @Override
    public NDArray bernoulli(NDArray p) {
        NDArray u = p.getManager().randomUniform(0f, 1f, p.getShape(), DataType.FLOAT32, p.getDevice());
        NDArray draw = u.lt(p.toType(DataType.FLOAT32, false));
        return draw.toType(p.getDataType(), false);
    }
}
