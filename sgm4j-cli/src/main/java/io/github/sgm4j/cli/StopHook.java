package io.github.sgm4j.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The shutdown hook of a training command: on Ctrl-C / SIGTERM it asks the loop to stop after the
 * current step and waits up to 120 s for the loop to say it has finished (its checkpoint written).
 */
final class StopHook {

    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private StopHook(Runnable requestStop) {
        this.hook = new Thread(() -> {
            requestStop.run();
            try {
                finished.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sgm4j-stop");
    }

    /** Registers a hook that calls {@code requestStop}, then waits for {@link #finished()}. */
    static StopHook install(Runnable requestStop) {
        StopHook h = new StopHook(requestStop);
        Runtime.getRuntime().addShutdownHook(h.hook);
        return h;
    }

    /** The loop has returned (normally or not): a waiting hook may let the JVM exit. */
    void finished() {
        finished.countDown();
    }

    /** Unregisters the hook after a normal end (a no-op while the JVM is already stopping). */
    void remove() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is already stopping (Ctrl-C): the hook waits for us
        }
    }
}
