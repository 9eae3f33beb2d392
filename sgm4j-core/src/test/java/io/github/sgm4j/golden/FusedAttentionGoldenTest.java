package io.github.sgm4j.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.nn.GradMode;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attention path sgm4j takes at SD resolutions (score matrices above the chunking threshold,
 * no autograd): libtorch's fused {@code scaled_dot_product_attention} instead of the plain formula.
 * The golden UNet cases, run with a threshold of one score element so that every attention of the
 * network (self and cross) takes the fused kernel, still match the reference's outputs within each
 * case's own tolerance.
 */
class FusedAttentionGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"unet_sd1_crossattn", "unet_sdxl_like", "unet_mnist_cond"})
    void goldenUNetCasesHoldWithEveryAttentionFused(String name) {
        try (NDManager root = NDManager.newBaseManager();
                GoldenCase g = GoldenCase.load(Path.of("src/test/resources/golden", name), root);
                GradMode ignored = GradMode.disabled()) {
            UNetModel net = new Instantiator().instantiate(g.config(), UNetModel.class);
            net.attach(g.manager());
            net.loadStateDict(g.weights(), true);
            net.eval();
            net.setMaxScoreElements(1);
            NDArray context = g.hasInput("context") ? g.input("context") : null;
            NDArray y = g.hasInput("y") ? g.input("y") : null;
            Checker check = new Checker(g);
            int outputs = 0;
            for (String key : g.outputKeys()) {
                String kind = key.substring("out_".length());
                check.check(key, net.forward(g.input("x"), g.input("timesteps_" + kind), context, y));
                outputs++;
            }
            check.finish();
            assertTrue(outputs > 0, name + " has no outputs");
            System.out.printf("[fused attention] %s: max abs error %.3g, max rel error %.3g%n", name, check.maxAbsError(),
                    check.maxRelError());
        }
    }
}
