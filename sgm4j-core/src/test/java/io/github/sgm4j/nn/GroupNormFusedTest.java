package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.testutil.Assert;
import org.junit.jupiter.api.Test;

/**
 * {@link F#groupNorm} (native layer-norm and batch-norm kernels) against its composed definition {@link
 * F#groupNormComposed}, values and gradients; the torch reference values are in {@link
 * LayersParityTest}.
 */
class GroupNormFusedTest {

    /** Float32 rounding of two different summation orders over a few thousand elements. */
    static final double ATOL = 2e-6;

    static final double RTOL = 1e-5;

    @Test
    void fusedEqualsComposed() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(7);
            long[][] shapes = {{2, 64, 16, 16}, {1, 32, 5, 3}, {3, 96, 7}, {2, 32, 1, 1}, {1, 64, 64, 64}};
            for (long[] s : shapes) {
                NDArray x = ns.randn(m, new Shape(s)).mul(3).add(1.5f);
                NDArray w = ns.randn(m, new Shape(s[1]));
                NDArray b = ns.randn(m, new Shape(s[1]));
                String what = "group_norm " + new Shape(s);
                Assert.allClose(what, F.groupNormComposed(x, 32, w, b, 1e-6), F.groupNorm(x, 32, w, b, 1e-6), RTOL, ATOL);
                Assert.allClose(what + " no affine", F.groupNormComposed(x, 32, null, null, 1e-5),
                        F.groupNorm(x, 32, null, null, 1e-5), RTOL, ATOL);
                Assert.allClose(what + " weight only", F.groupNormComposed(x, 16, w, null, 1e-5),
                        F.groupNorm(x, 16, w, null, 1e-5), RTOL, ATOL);
            }
        }
    }

    @Test
    void gradientsEqualComposed() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] grads = new NDArray[6];
            for (int pass = 0; pass < 2; pass++) {
                NoiseSource same = NoiseSource.seeded(9);
                NDArray x = same.randn(m, new Shape(2, 64, 8, 8));
                NDArray w = same.randn(m, new Shape(64));
                NDArray b = same.randn(m, new Shape(64));
                NDArray up = same.randn(m, new Shape(2, 64, 8, 8));
                x.setRequiresGradient(true);
                w.setRequiresGradient(true);
                b.setRequiresGradient(true);
                try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    NDArray y = pass == 0 ? F.groupNormComposed(x, 32, w, b, 1e-6) : F.groupNorm(x, 32, w, b, 1e-6);
                    gc.backward(y.mul(up).sum());
                }
                grads[3 * pass] = x.getGradient().duplicate();
                grads[3 * pass + 1] = w.getGradient().duplicate();
                grads[3 * pass + 2] = b.getGradient().duplicate();
            }
            Assert.allClose("d x", grads[0], grads[3], 1e-4, 1e-5);
            Assert.allClose("d weight", grads[1], grads[4], 1e-4, 1e-5);
            Assert.allClose("d bias", grads[2], grads[5], 1e-4, 1e-5);
        }
    }
}
