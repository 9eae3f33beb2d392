package io.github.sgm4j.golden;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * The suite runs case folders it has never seen (as with {@code -Dsgm4j.golden.dir=DIR}): runners
 * are chosen by family name and driven by case.json; an unknown family is skipped, not passed.
 */
class UnseenCaseDirectoryTest {

    @TempDir
    Path dir;

    static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }

    @Test
    void runsRenamedCasesOfKnownFamiliesAndSkipsUnknownOnes() throws Exception {
        Path root = Path.of("src/test/resources/golden");
        copyDir(root.resolve("lit_ema_warmup_switch"), dir.resolve("lit_ema_never_seen_before"));
        copyDir(root.resolve("timestep_embedding"), dir.resolve("timestep_embedding_variant"));
        copyDir(root.resolve("timestep_embedding"), dir.resolve("zz_unknown_family"));
        List<GoldenRunner> runners = GoldenCasesTest.discoverRunners();
        GoldenCasesTest.runCase(dir.resolve("lit_ema_never_seen_before"), runners);
        GoldenCasesTest.runCase(dir.resolve("timestep_embedding_variant"), runners);
        assertThrows(TestAbortedException.class, () -> GoldenCasesTest.runCase(dir.resolve("zz_unknown_family"), runners));
    }

    @Test
    void aTamperedExpectedOutputFails() throws Exception {
        Path root = Path.of("src/test/resources/golden");
        Path c = dir.resolve("lit_ema_tampered");
        copyDir(root.resolve("lit_ema_decay_a_fixed"), c);
        // swap the expected outputs for another case's: the comparison must fail
        Files.copy(root.resolve("lit_ema_decay_b_fixed/io.safetensors"), c.resolve("io.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(root.resolve("lit_ema_decay_b_fixed/weights.safetensors"), c.resolve("weights.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThrows(AssertionError.class, () -> GoldenCasesTest.runCase(c, GoldenCasesTest.discoverRunners()));
    }
}
