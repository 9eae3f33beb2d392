package io.github.sgm4j.nn;

/** A state dict that does not match a module's keys or shapes; the message lists every key. */
public class StateDictException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient LoadResult result;

    /**
     * Creates the exception for {@code moduleName} from a load report.
     *
     * @param moduleName the class name of the module being loaded
     * @param result the report, included in the message
     */
    public StateDictException(String moduleName, LoadResult result) {
        super("Error(s) in loading state_dict for " + moduleName + ":\n" + result.describe());
        this.result = result;
    }

    /**
     * The key report.
     *
     * @return the report
     */
    public LoadResult getResult() {
        return result;
    }
}
