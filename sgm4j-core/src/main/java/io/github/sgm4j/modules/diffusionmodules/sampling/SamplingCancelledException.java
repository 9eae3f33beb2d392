package io.github.sgm4j.modules.diffusionmodules.sampling;

/** Thrown when a {@link SamplerCallback} cancels sampling; names the step reached. */
public class SamplingCancelledException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int completedSteps;
    private final int totalSteps;

    /** Cancellation after {@code completedSteps} of {@code totalSteps}. */
    public SamplingCancelledException(String sampler, int completedSteps, int totalSteps) {
        super(sampler + ": sampling cancelled by the callback after step " + completedSteps + " of " + totalSteps);
        this.completedSteps = completedSteps;
        this.totalSteps = totalSteps;
    }

    /** Steps finished before the cancellation. */
    public int completedSteps() {
        return completedSteps;
    }

    /** Steps the run would have made. */
    public int totalSteps() {
        return totalSteps;
    }
}
