package io.github.sgm4j.config;

/** A configuration error; the message always names the full YAML path (and the source file). */
public class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String path;

    /**
     * @param path the full dotted YAML path at fault, e.g. {@code model.params.network_config.params.channel_mult}
     * @param message what is wrong there
     */
    public ConfigException(String path, String message) {
        super((path == null || path.isEmpty() ? "<root>" : path) + ": " + message);
        this.path = path;
    }

    /** With a cause. */
    public ConfigException(String path, String message, Throwable cause) {
        super((path == null || path.isEmpty() ? "<root>" : path) + ": " + message, cause);
        this.path = path;
    }

    /** The YAML path at fault. */
    public String getPath() {
        return path;
    }
}
