package io.github.sgm4j.noise;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A noise source that returns recorded draws in order (the golden cases' {@code noise.0}, {@code
 * noise.1}, ...). Every request is checked against the recording: a different kind of draw
 * (normal vs uniform vs integer vs bernoulli), a different shape, or a request after the recording
 * ran out throws {@link NoiseReplayException} naming the draw index.
 */
public final class ReplayNoiseSource implements NoiseSource {

    /**
     * One recorded draw: the torch call that made it ({@code randn}, {@code randint}, ...) and its value.
     *
     * @param kind the name of the torch call; draws match by family (normal, uniform, integer,
     *     bernoulli), so {@code randn} replays a {@code randn_like} request
     * @param value the recorded values; each replay returns a copy on the requester's manager (and dtype)
     */
    public record Draw(String kind, NDArray value) {}

    private final String source;
    private final List<Draw> draws;
    private int next;

    /**
     * A source replaying {@code draws} from the first.
     *
     * @param source a name for messages (e.g. the case directory)
     * @param draws the recorded draws in call order
     */
    public ReplayNoiseSource(String source, List<Draw> draws) {
        this.source = source;
        this.draws = new ArrayList<>(draws);
    }

    /**
     * Number of draws consumed so far.
     *
     * @return the index of the next draw
     */
    public int consumed() {
        return next;
    }

    /**
     * Number of recorded draws.
     *
     * @return the length of the recording
     */
    public int size() {
        return draws.size();
    }

    /** Throws unless every recorded draw was consumed. */
    public void assertExhausted() {
        if (next != draws.size()) {
            throw new NoiseReplayException(
                    source + ": only " + next + " of " + draws.size() + " recorded draws were consumed");
        }
    }

    private static String family(String kind) {
        String k = kind.toLowerCase(Locale.ROOT);
        if (k.startsWith("randn") || k.startsWith("normal") || k.equals("log_normal_")) {
            return "normal";
        }
        if (k.startsWith("randint") || k.startsWith("random_") || k.startsWith("randperm")) {
            return "integer";
        }
        if (k.startsWith("rand") || k.startsWith("uniform")) {
            return "uniform";
        }
        if (k.startsWith("bernoulli")) {
            return "bernoulli";
        }
        return k;
    }

    private NDArray take(String kind, Shape shape, NDManager manager, DataType dataType) {
        if (next >= draws.size()) {
            throw new NoiseReplayException(
                    source + ": draw #" + next + " (" + kind + " " + shape + ") requested, but the recording has only "
                            + draws.size() + " draws");
        }
        Draw d = draws.get(next);
        if (!family(d.kind()).equals(family(kind))) {
            throw new NoiseReplayException(
                    source + ": draw #" + next + " requested as " + kind + " " + shape + ", but the recording has "
                            + d.kind() + " " + d.value().getShape());
        }
        if (!d.value().getShape().equals(shape)) {
            throw new NoiseReplayException(
                    source + ": draw #" + next + " (" + kind + ") requested with shape " + shape
                            + ", but the recording has shape " + d.value().getShape());
        }
        next++;
        NDArray out = d.value().toDevice(manager.getDevice(), true);
        if (dataType != null && out.getDataType() != dataType) {
            NDArray converted = out.toType(dataType, false);
            if (converted != out) {
                out.close();
            }
            out = converted;
        }
        out.attach(manager);
        return out;
    }

    @Override
    public NDArray randn(NDManager manager, Shape shape) {
        return take("randn", shape, manager, DataType.FLOAT32);
    }

    @Override
    public NDArray randnLike(NDArray x) {
        DataType dt = x.getDataType().isFloating() ? x.getDataType() : DataType.FLOAT32;
        return take("randn_like", x.getShape(), x.getManager(), dt);
    }

    @Override
    public NDArray rand(NDManager manager, Shape shape) {
        return take("rand", shape, manager, DataType.FLOAT32);
    }

    @Override
    public NDArray randint(NDManager manager, long low, long high, Shape shape) {
        return take("randint", shape, manager, DataType.INT64);
    }

    @Override
    public NDArray bernoulli(NDArray p) {
        return take("bernoulli", p.getShape(), p.getManager(), p.getDataType());
    }
}
