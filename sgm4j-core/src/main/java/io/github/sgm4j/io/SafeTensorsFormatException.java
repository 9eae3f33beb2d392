package io.github.sgm4j.io;

/** A malformed or unsupported safetensors file; the message names the file and, where relevant, the tensor. */
public class SafeTensorsFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the description, naming the file and, where relevant, the tensor
     */
    public SafeTensorsFormatException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message the description, naming the file and, where relevant, the tensor
     * @param cause the underlying failure
     */
    public SafeTensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
