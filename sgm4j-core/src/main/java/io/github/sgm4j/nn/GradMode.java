package io.github.sgm4j.nn;

/**
 * A scope that sets libtorch's autograd mode on the calling thread and restores the previous mode
 * when closed ({@code with torch.no_grad():} / {@code torch.enable_grad()}). Grad mode is per
 * thread in libtorch and a new thread starts with it on, so code that updates parameters in place
 * (optimizers, EMA) must disable it explicitly rather than rely on the thread's state.
 *
 * <pre>{@code
 * try (GradMode ignored = GradMode.disabled()) {
 *     optimizer.step();
 * }
 * }</pre>
 */
public final class GradMode implements AutoCloseable {

    private final boolean previous;
    private boolean closed;

    private GradMode(boolean enabled) {
        this.previous = F.setGradEnabled(enabled);
    }

    /**
     * Disables autograd on this thread until {@link #close()} ({@code torch.no_grad()}).
     *
     * @return the scope; close it to restore the previous mode
     */
    public static GradMode disabled() {
        return new GradMode(false);
    }

    /**
     * Enables autograd on this thread until {@link #close()} ({@code torch.enable_grad()}).
     *
     * @return the scope; close it to restore the previous mode
     */
    public static GradMode enabled() {
        return new GradMode(true);
    }

    /** Restores the mode the thread had before this scope (once). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            F.setGradEnabled(previous);
        }
    }
}
