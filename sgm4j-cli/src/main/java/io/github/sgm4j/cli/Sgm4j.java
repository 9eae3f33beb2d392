package io.github.sgm4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The sgm4j command-line tool: train and sample diffusion models from the original sgm/ldm YAML
 * configs, inspect checkpoints, run benchmarks.
 */
@Command(
        name = "sgm4j",
        mixinStandardHelpOptions = true,
        version = "sgm4j 0.1.0",
        description = "Stability AI generative-models (sgm) and latent-diffusion (ldm) on the JVM.",
        subcommands = {TrainCommand.class, SampleCommand.class, ReconstructCommand.class, InspectCommand.class,
            BenchCommand.class})
public final class Sgm4j implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the tool; exits with the command's exit code. */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        int code = new CommandLine(new Sgm4j())
                .setExecutionExceptionHandler((ex, cmd, parseResult) -> {
                    cmd.getErr().println("sgm4j " + cmd.getCommandName() + ": " + ex.getMessage());
                    if (System.getenv("SGM4J_DEBUG") != null) {
                        ex.printStackTrace(cmd.getErr());
                    }
                    return 1;
                })
                .execute(args);
        System.exit(code);
    }
}
