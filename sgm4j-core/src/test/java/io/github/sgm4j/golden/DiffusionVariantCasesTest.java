package io.github.sgm4j.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Extra reference cases of the UNet-dependent diffusion families with parameters the shipped cases
 * do not use (DPM++ 2S ancestral over a DiscreteDenoiser with CFG, Heun EDM with churn and
 * VScalingWithEDMcNoise without uc, LMS order 3, a V-prediction l1 loss with DiscreteSampling and
 * VWeighting, a DiscreteDenoiser without c_noise quantisation). They live in {@code
 * src/test/resources/golden-extra/diffusion} with their generator ({@code
 * gen_diffusion_variants.py}, sgm on torch 1.13) and run through the same runners as the golden
 * suite, chosen by family name and driven by case.json alone.
 */
class DiffusionVariantCasesTest {

    @TestFactory
    Stream<DynamicTest> diffusionVariants() throws IOException {
        Path root = Path.of("src/test/resources/golden-extra/diffusion");
        List<Path> cases;
        try (Stream<Path> s = Files.list(root)) {
            cases = s.filter(d -> Files.exists(d.resolve("case.json"))).sorted().toList();
        }
        if (cases.size() != 5) {
            throw new IllegalStateException("expected 5 extra diffusion cases under " + root + ", found " + cases);
        }
        List<GoldenRunner> runners = GoldenCasesTest.discoverRunners();
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(),
                () -> GoldenCasesTest.runCase(dir, runners)));
    }
}
