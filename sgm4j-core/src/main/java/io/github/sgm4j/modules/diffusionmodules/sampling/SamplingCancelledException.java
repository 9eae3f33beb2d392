package io.github.sgm4j.modules.diffusionmodules.sampling;

/** Thrown when a {@link SamplerCallback} cancels sampling; names the step reached. */
public class SamplingCancelledException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Steps finished before the cancellation. */
    private final int completedSteps;
    /** Steps the run would have made. */
    private final int totalSteps;

    /**
     * Cancellation after {@code completedSteps} of {@code totalSteps}.
     *
     * @param sampler the sampler's name, for the message
     * @param completedSteps steps finished before the cancellation
     * @param totalSteps steps the run would have made
     */
    public SamplingCancelledException(String sampler, int completedSteps, int totalSteps) {
        super(sampler + ": sampling cancelled by the callback after step " + completedSteps + " of " + totalSteps);
        this.completedSteps = completedSteps;
        this.totalSteps = totalSteps;
    }

    /**
     * Steps finished before the cancellation.
     *
     * @return the completed step count
     */
    public int completedSteps() {
        return completedSteps;
    }

    /**
     * Steps the run would have made.
     *
     * @return the total step count
     */
    public int totalSteps() {
        return totalSteps;
    }
}
