package io.github.sgm4j.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.testutil.Assert;
import org.junit.jupiter.api.Test;

/** {@link F#upsampleNearest2x} (libtorch's nearest kernel) equals repeating rows and columns, gradients included. */
class UpsampleNearestTest {

    @Test
    void equalsRepeatExactly() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (long[] s : new long[][] {{2, 3, 5, 7}, {1, 64, 16, 16}, {3, 1, 1, 1}}) {
                NDArray x = NoiseSource.seeded(3).randn(m, new Shape(s));
                Assert.allClose("nearest x2 " + new Shape(s), F.upsampleNearest2xRepeat(x), F.upsampleNearest2x(x), 0, 0);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> F.upsampleNearest2x(m.zeros(new Shape(2, 3, 4))));
            assertTrue(e.getMessage().contains("got (2, 3, 4)"), e.getMessage());
        }
    }

    @Test
    void gradientSumsTheFourCopies() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = NoiseSource.seeded(4).randn(m, new Shape(1, 2, 3, 3));
            NDArray up = NoiseSource.seeded(5).randn(m, new Shape(1, 2, 6, 6));
            x.setRequiresGradient(true);
            try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                gc.backward(F.upsampleNearest2x(x).mul(up).sum());
            }
            NDArray expected = up.reshape(1, 2, 3, 2, 3, 2).sum(new int[] {3, 5});
            Assert.allClose("d x", expected, x.getGradient(), 1e-6, 1e-6);
        }
    }
}
