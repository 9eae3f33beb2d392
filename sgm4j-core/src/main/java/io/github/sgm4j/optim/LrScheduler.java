package io.github.sgm4j.optim;

/**
 * A learning-rate multiplier per training step, used like torch's {@code LambdaLR}: the step-k
 * learning rate is {@code base_lr * multiplier(k)}, k counting optimizer steps from 0.
 */
@FunctionalInterface
public interface LrScheduler {

    /**
     * The multiplier at step {@code n}.
     *
     * @param n the optimizer step, from 0
     * @return the factor applied to the base learning rate
     */
    double multiplier(long n);

    /**
     * The constant multiplier 1 (no scheduler).
     *
     * @return a scheduler returning 1 at every step
     */
    static LrScheduler constant() {
        return n -> 1.0;
    }
}
