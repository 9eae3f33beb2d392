package io.github.sgm4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Up-front checks of command options, run before any work (no model built, nothing loaded): each
 * failure is a picocli {@link ParameterException} naming the option (exit code 2, usage shown).
 */
final class Validate {

    private Validate() {}

    static ParameterException bad(CommandSpec spec, String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** {@code value >= 1} when given. */
    static void positive(CommandSpec spec, String option, Number value) {
        if (value != null && value.longValue() < 1) {
            throw bad(spec, option + " must be at least 1, got " + value);
        }
    }

    /** {@code value >= 0} when given. */
    static void nonNegative(CommandSpec spec, String option, Number value) {
        if (value != null && (value.doubleValue() < 0 || Double.isNaN(value.doubleValue()))) {
            throw bad(spec, option + " must not be negative, got " + value);
        }
    }

    /** A finite number when given. */
    static void finite(CommandSpec spec, String option, Double value) {
        if (value != null && !Double.isFinite(value)) {
            throw bad(spec, option + " must be a finite number, got " + value);
        }
    }

    /** An existing regular file (a directory is reported as such). */
    static void file(CommandSpec spec, String option, Path path) {
        if (path == null) {
            return;
        }
        if (Files.isDirectory(path)) {
            throw bad(spec, option + " " + path + " is a directory, not a file");
        }
        if (!Files.isRegularFile(path)) {
            throw bad(spec, option + " " + path + ": file not found");
        }
        if (!Files.isReadable(path)) {
            throw bad(spec, option + " " + path + ": file is not readable");
        }
    }

    /** An existing directory. */
    static void directory(CommandSpec spec, String option, Path path) {
        if (path != null && !Files.isDirectory(path)) {
            throw bad(spec, option + " " + path + (Files.exists(path) ? " is not a directory" : ": directory not found"));
        }
    }

    /**
     * An output directory: created when missing, and probed by creating (and deleting) a file in it,
     * so that a read-only or impossible path fails now, not after the work.
     */
    static void outputDirectory(CommandSpec spec, String option, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException | UnsupportedOperationException e) {
            throw bad(spec, option + " " + dir + ": cannot create the output directory (" + describe(e) + ")");
        }
        Path probe = dir.resolve(".sgm4j-write-test-" + ProcessHandle.current().pid());
        try {
            Files.newByteChannel(probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
            Files.delete(probe);
        } catch (IOException e) {
            throw bad(spec, option + " " + dir + ": the output directory is not writable (" + describe(e) + ")");
        }
    }

    /** An output file: its directory is created and probed ({@link #outputDirectory}); it must not be a directory. */
    static void outputFile(CommandSpec spec, String option, Path file) {
        if (Files.isDirectory(file)) {
            throw bad(spec, option + " " + file + " is a directory, not a file");
        }
        Path parent = file.toAbsolutePath().getParent();
        outputDirectory(spec, option, parent);
    }

    /** A device name: cpu, cuda, gpu or cuda:N. */
    static void device(CommandSpec spec, String option, String name) {
        try {
            io.github.sgm4j.models.EngineLoader.device(name);
        } catch (RuntimeException e) {
            throw bad(spec, option + ": " + e.getMessage());
        }
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName().replace("Exception", "");
        return m == null ? kind : kind + ": " + m;
    }
}
