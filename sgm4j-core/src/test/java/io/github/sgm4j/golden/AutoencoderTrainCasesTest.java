package io.github.sgm4j.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Extra reference cases of autoencoder training: {@code sgm_autoencoder_kl_train}, sgm's
 * AutoencodingEngine with GeneralLPIPSWithDiscriminator under its own manual-optimisation {@code
 * training_step} (both optimizers, before and after {@code disc_start}). They live in {@code
 * src/test/resources/golden-extra/autoencoder} with their generator ({@code
 * gen_sgm_autoencoder_train.py}, sgm on torch 1.13) and run through the golden runners.
 */
class AutoencoderTrainCasesTest {

    @TestFactory
    Stream<DynamicTest> autoencoderTraining() throws IOException {
        Path root = Path.of("src/test/resources/golden-extra/autoencoder");
        List<Path> cases;
        try (Stream<Path> s = Files.list(root)) {
            cases = s.filter(d -> Files.exists(d.resolve("case.json"))).sorted().toList();
        }
        if (cases.size() != 1) {
            throw new IllegalStateException("expected 1 extra autoencoder case under " + root + ", found " + cases);
        }
        List<GoldenRunner> runners = GoldenCasesTest.discoverRunners();
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(),
                () -> GoldenCasesTest.runCase(dir, runners)));
    }
}
