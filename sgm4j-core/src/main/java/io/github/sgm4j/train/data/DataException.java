package io.github.sgm4j.train.data;

/** A data set that cannot be read: missing, unreadable or malformed files; the message names the file. */
public class DataException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception. */
    public DataException(String message) {
        super(message);
    }

    /** Creates the exception with a cause. */
    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
