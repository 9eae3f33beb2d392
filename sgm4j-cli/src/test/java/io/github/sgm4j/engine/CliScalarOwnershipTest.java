package io.github.sgm4j.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.cli.Sgm4j;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The command-line tool and the benchmark workloads follow the core's rule too: no call of a DJL
 * overload that wraps Java data in an array borrowing a Java buffer (see the core's {@code
 * ScalarOwnershipTest}); arrays from Java data go through {@link Tensors}.
 */
class CliScalarOwnershipTest {

    @Test
    void noBorrowingOverloadInTheCli() throws Exception {
        Path classes = Paths.get(Sgm4j.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Path> files = BorrowingCallScanner.classFiles(classes);
        assertTrue(files.size() > 20, "expected the CLI classes under " + classes + ", found " + files.size());
        List<BorrowingCallScanner.Hit> hits = BorrowingCallScanner.scan(classes, files);
        assertTrue(hits.isEmpty(), hits.size() + " call(s) of borrowing DJL overloads in sgm4j-cli (use"
                + " io.github.sgm4j.engine.Tensors or the scalar ops of nn.F):\n  "
                + hits.stream().map(Object::toString).collect(Collectors.joining("\n  ")));
    }
}
