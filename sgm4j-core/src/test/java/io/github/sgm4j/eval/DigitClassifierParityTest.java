package io.github.sgm4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.Tolerance;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link DigitNet} against its PyTorch twin (torch 1.13 {@code nn.Conv2d}/{@code nn.Linear}/{@code
 * relu}/{@code max_pool2d}), case made by {@code golden-extra/eval/gen_digit_classifier.py}: the
 * twin's weights (a briefly trained net) load under the same keys and give the same logits on eight
 * MNIST test digits, at 28 x 28 and padded to 32 x 32.
 */
class DigitClassifierParityTest {

    static final Path CASE = Path.of("src/test/resources/golden-extra/eval/digit_classifier");

    /** Float32 convolutions and matmuls of different libtorch builds (1.13 vs 2.7.1) over 800-wide sums. */
    static final Tolerance LOGITS = new Tolerance(1e-5, 1e-5);

    @Test
    void logitsMatchThePyTorchTwin() {
        try (NDManager m = NDManager.newBaseManager();
                GoldenCase golden = GoldenCase.load(CASE, m);
                DigitClassifier c = DigitClassifier.load(CASE.resolve("weights.safetensors"))) {
            Checker checker = new Checker(golden);
            try (NDArray logits = c.logits(golden.input("images"))) {
                checker.check("logits", logits, LOGITS);
            }
            try (NDArray logits32 = c.logits(golden.input("images32"))) {
                checker.check("logits", logits32, LOGITS);
            }
            int[] predicted = c.predict(golden.input("images"));
            checker.check("argmax", Tensors.create(m, predicted).toType(ai.djl.ndarray.types.DataType.INT64, false));
            assertArrayEquals(predicted, c.predict(golden.input("images32")));
            checker.finish();
            System.out.printf("DigitClassifier parity: max abs error %.3g, max rel error %.3g (%s)%n",
                    checker.maxAbsError(), checker.maxRelError(), checker.worstOutput());
        }
    }
}
