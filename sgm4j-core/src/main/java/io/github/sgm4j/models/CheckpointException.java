package io.github.sgm4j.models;

import java.nio.file.Path;
import java.util.List;

/**
 * A checkpoint file that cannot be used: missing, a directory, not a {@code .safetensors} file, or
 * its keys do not match the engine (missing, unexpected, EMA weights absent when required, no key in
 * common). The message names the file and the keys; {@link #file()} and {@link #keys()} give them.
 * An {@link IllegalArgumentException}, so callers that caught that before keep working.
 */
public class CheckpointException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    /** The offending keys (immutable; part of the serialized form). */
    private final List<String> keys;

    /**
     * Creates the exception.
     *
     * @param file the checkpoint file
     * @param keys the offending keys (may be empty)
     * @param message the full message (names the file and the keys)
     */
    public CheckpointException(Path file, List<String> keys, String message) {
        super(message);
        this.file = file;
        this.keys = List.copyOf(keys);
    }

    /**
     * The checkpoint file.
     *
     * @return its path
     */
    public Path file() {
        return file;
    }

    /**
     * The offending keys: the missing and unexpected ones, or empty when the file itself is the
     * problem.
     *
     * @return the keys (immutable)
     */
    public List<String> keys() {
        return keys;
    }
}
