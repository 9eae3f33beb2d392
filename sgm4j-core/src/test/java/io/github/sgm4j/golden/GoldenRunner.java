package io.github.sgm4j.golden;

/**
 * Runs one family of golden cases. Implementations live in {@code io.github.sgm4j.golden.runners}
 * with a public no-argument constructor; {@link GoldenCasesTest} discovers them there.
 */
public interface GoldenRunner {

    /** Whether this runner handles the case named {@code caseName} (by the family naming of golden/README.md). */
    boolean handles(String caseName);

    /**
     * Builds the object(s) from the case's config through the Instantiator, loads the weights
     * strictly by key, replays the noise, and checks every output.
     */
    void run(GoldenCase golden, Checker check) throws Exception;
}
