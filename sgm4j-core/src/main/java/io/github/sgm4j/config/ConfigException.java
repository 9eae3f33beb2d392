package io.github.sgm4j.config;

/** A configuration error; the message always names the full YAML path (and the source file). */
public class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The dotted YAML path at fault ({@code ""} or null for the root). */
    private final String path;

    /**
     * An error at {@code path}; the message is prefixed with the path ({@code <root>} when empty).
     *
     * @param path the full dotted YAML path at fault, e.g. {@code model.params.network_config.params.channel_mult}
     * @param message what is wrong there
     */
    public ConfigException(String path, String message) {
        super((path == null || path.isEmpty() ? "<root>" : path) + ": " + message);
        this.path = path;
    }

    /**
     * With a cause.
     *
     * @param path the full dotted YAML path at fault
     * @param message what is wrong there
     * @param cause the underlying failure
     */
    public ConfigException(String path, String message, Throwable cause) {
        super((path == null || path.isEmpty() ? "<root>" : path) + ": " + message, cause);
        this.path = path;
    }

    /**
     * The YAML path at fault.
     *
     * @return the dotted path, as given to the constructor
     */
    public String getPath() {
        return path;
    }
}
