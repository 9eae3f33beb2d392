package io.github.sgm4j.train.data;

/** A data set that cannot be read: missing, unreadable or malformed files; the message names the file. */
public class DataException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the file
     */
    public DataException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what is wrong, naming the file
     * @param cause the underlying I/O error
     */
    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
