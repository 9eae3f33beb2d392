package io.github.sgm4j.noise;

/**
 * The noise source of the current step, per thread: the Java counterpart of the global generator
 * that {@code torch.nn.Dropout} draws from during a training step. {@code trainStep} opens a scope
 * with the step's source around the forward pass, so that modules drawing in training mode
 * ({@link io.github.sgm4j.nn.Dropout}) use the step's reproducible stream without any wiring.
 *
 * <pre>{@code
 * try (NoiseScope ignored = NoiseScope.open(noise)) {
 *     model.forward(x);   // Dropout draws from noise
 * }
 * }</pre>
 */
public final class NoiseScope implements AutoCloseable {

    private static final ThreadLocal<NoiseSource> CURRENT = new ThreadLocal<>();

    private final NoiseSource previous;
    private boolean closed;

    private NoiseScope(NoiseSource source) {
        this.previous = CURRENT.get();
        CURRENT.set(source);
    }

    /**
     * Makes {@code source} the current noise source of this thread until {@link #close()}.
     *
     * @param source the source; null hides an enclosing scope's source
     * @return the scope; close it (try-with-resources) to restore the previous source
     */
    public static NoiseScope open(NoiseSource source) {
        return new NoiseScope(source);
    }

    /**
     * The current noise source of this thread, or null outside any scope.
     *
     * @return the source, or null
     */
    public static NoiseSource current() {
        return CURRENT.get();
    }

    /** Restores the previous current source (once). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }
}
