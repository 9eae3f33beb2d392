package io.github.sgm4j.noise;

/** A replayed draw that does not match the recording (kind, shape or count). */
public class NoiseReplayException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the description, naming the draw and what was expected
     */
    public NoiseReplayException(String message) {
        super(message);
    }
}
