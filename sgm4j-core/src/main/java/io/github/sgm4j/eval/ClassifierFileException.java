package io.github.sgm4j.eval;

import java.nio.file.Path;

/** A digit-classifier file that cannot be loaded; the message names the file and, where relevant, the keys. */
public class ClassifierFileException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The file at fault (a string: {@link Path} is not serializable). */
    private final String file;

    /**
     * Creates the exception.
     *
     * @param file the file at fault
     * @param problem what is wrong with it
     */
    public ClassifierFileException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file.toString();
    }

    /**
     * Creates the exception with a cause.
     *
     * @param file the file at fault
     * @param problem what is wrong with it
     * @param cause the underlying failure
     */
    public ClassifierFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file.toString();
    }

    /**
     * The file at fault.
     *
     * @return the path as given
     */
    public Path getFile() {
        return Path.of(file);
    }
}
