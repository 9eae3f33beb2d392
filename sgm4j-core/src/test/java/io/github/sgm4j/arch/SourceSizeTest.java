package io.github.sgm4j.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No main source file of sgm4j-core or sgm4j-cli is over {@value #MAX_LINES} lines unless its first
 * {@value #HEADER_LINES} lines say why ({@code Size:} paragraph in the class Javadoc).
 */
class SourceSizeTest {

    static final int MAX_LINES = 500;
    static final int HEADER_LINES = 60;
    static final List<String> SOURCE_ROOTS = List.of("sgm4j-core/src/main/java", "sgm4j-cli/src/main/java");

    @Test
    void largeSourcesSayWhyTheyAreOneFile() throws IOException {
        Path root = repositoryRoot();
        List<String> offenders = new ArrayList<>();
        int scanned = 0;
        for (String dir : SOURCE_ROOTS) {
            Path base = root.resolve(dir);
            assertTrue(Files.isDirectory(base), "no source root " + base);
            List<Path> files;
            try (Stream<Path> s = Files.walk(base)) {
                files = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
            }
            for (Path f : files) {
                scanned++;
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                if (lines.size() > MAX_LINES && !hasSizeNote(lines)) {
                    offenders.add(root.relativize(f) + " (" + lines.size() + " lines)");
                }
            }
        }
        assertTrue(scanned > 50, "scanned only " + scanned + " files under " + root);
        assertTrue(offenders.isEmpty(), "source files over " + MAX_LINES + " lines without a 'Size:' note in their first "
                + HEADER_LINES + " lines (split them or say why they are one file): " + offenders);
    }

    @Test
    void detectorSeesTheNote() {
        List<String> big = new ArrayList<>();
        for (int i = 0; i <= MAX_LINES; i++) {
            big.add("// line " + i);
        }
        assertTrue(!hasSizeNote(big));
        big.set(10, " * <p>Size: one engine boundary.");
        assertTrue(hasSizeNote(big));
        big.set(10, "// nothing");
        big.set(HEADER_LINES + 1, " * <p>Size: too late.");
        assertTrue(!hasSizeNote(big));
    }

    static boolean hasSizeNote(List<String> lines) {
        return lines.subList(0, Math.min(HEADER_LINES, lines.size())).stream().anyMatch(l -> l.contains("Size:"));
    }

    /** The repository root: the working directory of the tests, or the nearest parent holding both modules. */
    static Path repositoryRoot() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isDirectory(q.resolve("sgm4j-core")) && Files.isDirectory(q.resolve("sgm4j-cli"))) {
                return q;
            }
        }
        throw new AssertionError("cannot find the repository root (sgm4j-core and sgm4j-cli) above " + p);
    }
}
