package io.github.sgm4j.optim;

/**
 * A NaN or infinite training loss: the step was stopped before any update (no gradient applied, no
 * optimizer, EMA or step-counter change). Thrown by {@link TrainingStep#forwardBackward} for both
 * sgm's {@code DiffusionEngine} and ldm's {@code DDPM}/{@code LatentDiffusion}; an {@link
 * IllegalStateException} so callers that caught the older generic exception keep working.
 */
public final class NonFiniteLossException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** The step counter when the loss was computed. */
    private final long step;

    /** The non-finite loss value. */
    private final double loss;

    /**
     * Creates the exception with the message {@code training loss is <loss> at step <step>:
     * stopping (no update applied)}.
     *
     * @param step the global step at which the loss was computed
     * @param loss the NaN or infinite loss value
     */
    public NonFiniteLossException(long step, double loss) {
        super("training loss is " + loss + " at step " + step + ": stopping (no update applied)");
        this.step = step;
        this.loss = loss;
    }

    /**
     * The step at which the loss was computed.
     *
     * @return the global step (before the failed update)
     */
    public long getStep() {
        return step;
    }

    /**
     * The offending loss value.
     *
     * @return NaN or an infinity
     */
    public double getLoss() {
        return loss;
    }
}
