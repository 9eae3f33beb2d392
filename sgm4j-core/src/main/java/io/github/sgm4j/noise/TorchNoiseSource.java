package io.github.sgm4j.noise;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Generators;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The default noise source: draws from libtorch's generator, which {@code seed} initialises
 * exactly like {@code torch.manual_seed(seed)}. On CPU, {@code new TorchNoiseSource(s).randn(m,
 * shape)} returns bit for bit what {@code torch.manual_seed(s); torch.randn(shape)} returns, and
 * so on for a sequence of draws.
 *
 * <p>Each source has its own stream, although libtorch has one process-wide generator (DJL 0.35
 * exposes no per-call generator): draws are serialised by a process-wide lock, every source
 * remembers its seed and the draws it made since, and before drawing, a source that is not the
 * last one to have used the generator reseeds it with its seed and replays its draws (discarding
 * the values) to bring the generator back to its own state. So interleaving sources, drawing from
 * several threads, or a {@link io.github.sgm4j.nn.F#manualSeed} in between never changes what a source returns. The
 * replay costs as much as the draws it repeats: it happens only when sources alternate, and {@link
 * #reseed} (a trainer reseeds per step) empties the history. Draws made by calling DJL's {@code
 * NDManager.random*} directly are not tracked and can shift the stream of the source that last
 * drew.
 */
public final class TorchNoiseSource implements NoiseSource {

    private static final ReentrantLock LOCK = new ReentrantLock();
    /** The source whose stream libtorch's generator currently holds (guarded by LOCK), or null. */
    private static TorchNoiseSource owner;

    private enum Kind { NORMAL, UNIFORM, INTEGER }

    /** One draw as made (replayed to restore the generator state). */
    private record Draw(Kind kind, Shape shape, DataType dataType, Device device, long low, long high) {
        NDArray run(NDManager manager) {
            return switch (kind) {
                case NORMAL -> manager.randomNormal(0f, 1f, shape, dataType, device);
                case UNIFORM -> manager.randomUniform(0f, 1f, shape, dataType, device);
                case INTEGER -> manager.randomInteger(low, high, shape, dataType);
            };
        }
    }

    private long seed;
    private final List<Draw> history = new ArrayList<>();

    /** Seeds the engine generator with {@code seed} ({@code torch.manual_seed}); this source owns the stream. */
    public TorchNoiseSource(long seed) {
        reseed(seed);
    }

    /** The seed this source was created (or last reseeded) with. */
    public long getSeed() {
        return seed;
    }

    /** Restarts this source's stream at {@code newSeed} ({@code torch.manual_seed(newSeed)}). */
    public void reseed(long newSeed) {
        LOCK.lock();
        try {
            seed = newSeed;
            history.clear();
            Generators.seedDefault(newSeed);
            owner = this;
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * {@code torch.manual_seed(seed)} for code outside the noise sources: seeds the generator; every
     * source restores its own stream before its next draw.
     */
    public static void manualSeed(long seed) {
        LOCK.lock();
        try {
            Generators.seedDefault(seed);
            owner = null;
        } finally {
            LOCK.unlock();
        }
    }

    private NDArray draw(Draw d, NDManager manager) {
        LOCK.lock();
        try {
            if (owner != this) {
                restoreGenerator();
            }
            NDArray out = d.run(manager);
            history.add(d);
            return out;
        } finally {
            LOCK.unlock();
        }
    }

    /** Reseeds with this source's seed and replays its draws: the generator is where this source left it. */
    private void restoreGenerator() {
        owner = null;
        Generators.seedDefault(seed);
        if (!history.isEmpty()) {
            Map<Device, NDManager> managers = new HashMap<>();
            try {
                for (Draw d : history) {
                    NDManager m = managers.computeIfAbsent(d.device(), NDManager::newBaseManager);
                    d.run(m).close();
                }
            } finally {
                managers.values().forEach(NDManager::close);
            }
        }
        owner = this;
    }

    @Override
    public NDArray randn(NDManager manager, Shape shape) {
        return draw(new Draw(Kind.NORMAL, shape, DataType.FLOAT32, manager.getDevice(), 0, 0), manager);
    }

    @Override
    public NDArray randnLike(NDArray x) {
        DataType dt = x.getDataType().isFloating() ? x.getDataType() : DataType.FLOAT32;
        return draw(new Draw(Kind.NORMAL, x.getShape(), dt, x.getDevice(), 0, 0), x.getManager());
    }

    @Override
    public NDArray rand(NDManager manager, Shape shape) {
        return draw(new Draw(Kind.UNIFORM, shape, DataType.FLOAT32, manager.getDevice(), 0, 0), manager);
    }

    @Override
    public NDArray randint(NDManager manager, long low, long high, Shape shape) {
        if (high <= low) {
            throw new IllegalArgumentException("randint: high (" + high + ") must be > low (" + low + ")");
        }
        return draw(new Draw(Kind.INTEGER, shape, DataType.INT64, manager.getDevice(), low, high), manager);
    }

    @Override
    public NDArray bernoulli(NDArray p) {
        NDManager m = p.getManager();
        try (NDArray u = draw(new Draw(Kind.UNIFORM, p.getShape(), DataType.FLOAT32, p.getDevice(), 0, 0), m);
                NDArray p32 = p.toType(DataType.FLOAT32, true);
                NDArray drawn = u.lt(p32)) {
            return drawn.toType(p.getDataType(), true);
        }
    }
}
