package io.github.sgm4j.cli;

import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The sgm4j command-line tool: train and sample diffusion models from the original sgm/ldm YAML
 * configs, inspect checkpoints, run benchmarks, judge class-conditional MNIST samples.
 *
 * <p>Quiet by default: slf4j-simple logs warnings and errors only, and DJL's CUDA probe warnings
 * ({@code ai.djl.util.cuda.CudaUtils}, "Failed to detect GPU count" on a machine without a GPU
 * driver) are hidden; {@code --verbose} shows DJL's and sgm4j's INFO lines and those warnings.
 */
@Command(
        name = "sgm4j",
        mixinStandardHelpOptions = true,
        version = "sgm4j 0.1.0",
        description = "Stability AI generative-models (sgm) and latent-diffusion (ldm) on the JVM.",
        subcommands = {TrainCommand.class, SampleCommand.class, ReconstructCommand.class, EncodeDatasetCommand.class,
            InspectCommand.class, BenchCommand.class, Txt2ImgCommand.class, Img2ImgCommand.class,
            DigitAccuracyCommand.class})
public final class Sgm4j implements Runnable {

    /** slf4j-simple's default level property. */
    static final String DEFAULT_LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    /** slf4j-simple's level property of DJL's CUDA probe logger. */
    static final String CUDA_LOG_LEVEL = "org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "log DJL's and sgm4j's INFO messages and DJL's CUDA probe warnings (quiet by default)")
    boolean verbose;

    /** Without a subcommand: prints the usage to standard output. */
    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /**
     * Sets slf4j-simple's levels; must run before the first logger is created (slf4j-simple reads
     * them once). Properties already set on the command line ({@code -D...}) win.
     */
    static void configureLogging(boolean verbose) {
        setIfAbsent(DEFAULT_LOG_LEVEL, verbose ? "info" : "warn");
        setIfAbsent(CUDA_LOG_LEVEL, verbose ? "info" : "error");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The tool's command line: errors of a command print {@code sgm4j COMMAND: message} and exit 1. */
    static CommandLine commandLine() {
        return new CommandLine(new Sgm4j())
                .setExecutionExceptionHandler((ex, cmd, parseResult) -> {
                    cmd.getErr().println("sgm4j " + cmd.getCommandName() + ": " + ex.getMessage());
                    if (System.getenv("SGM4J_DEBUG") != null) {
                        ex.printStackTrace(cmd.getErr());
                    }
                    cmd.getErr().flush();
                    return 1;
                });
    }

    /**
     * Runs the tool and exits the JVM with the command's exit code: 0 on success, 2 for invalid
     * options (usage shown), 1 when a command fails (message on standard error; with the environment
     * variable {@code SGM4J_DEBUG} set, also the stack trace). Sets {@code ai.djl.offline} so that DJL
     * never downloads.
     *
     * @param args the command line, e.g. {@code train CONFIG --steps 100}
     */
    public static void main(String[] args) {
        // before anything creates a logger (picocli does not log through slf4j)
        configureLogging(Arrays.asList(args).contains("--verbose"));
        System.setProperty("ai.djl.offline", "true");
        System.exit(commandLine().execute(args));
    }
}
