package io.github.sgm4j.modules;

/**
 * An open {@code ema_scope()}: while open the network holds its EMA weights; {@link #close()} puts
 * the training weights back and frees the stored copies. Closing twice is a no-op, and {@code
 * close()} throws no checked exception, so it fits try-with-resources without a catch.
 */
public final class EmaScope implements AutoCloseable {

    private static final EmaScope NONE = new EmaScope(null);

    private Runnable restore;

    EmaScope(Runnable restore) {
        this.restore = restore;
    }

    /**
     * A scope that changes nothing (no EMA, or an inner scope nested in an open one).
     *
     * @return the shared no-op scope
     */
    public static EmaScope none() {
        return NONE;
    }

    /**
     * Whether this scope swapped the weights (false for a no-op scope).
     *
     * @return true if closing restores weights
     */
    public boolean isActive() {
        return restore != null;
    }

    /** Restores the training weights (once). */
    @Override
    public void close() {
        Runnable r = restore;
        if (r != null) {
            restore = null;
            r.run();
        }
    }
}
