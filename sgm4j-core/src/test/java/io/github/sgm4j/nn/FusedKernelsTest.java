package io.github.sgm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.testutil.Assert;
import org.junit.jupiter.api.Test;

/**
 * The TorchScript-backed kernels of {@link FusedKernels} (issue 15): they load in this build (the
 * fast path is not silently off), agree with the composed forms, and their outputs are ordinary
 * tensors (updatable in place, usable by autograd), with and without autograd recording.
 */
class FusedKernelsTest {

    @Test
    void loadsInThisBuild() {
        assertNotNull(FusedKernels.available(), "fused_ops.pt or the JNI entry points could not be reached");
    }

    @Test
    void fusedOpsAgreeWithComposedForms() {
        try (NDManager m = NDManager.newBaseManager();
                GradMode ignored = GradMode.disabled()) {
            NoiseSource ns = NoiseSource.seeded(11);
            long[][] shapes = {{2, 64, 16, 16}, {3, 96, 7}, {4, 32, 28, 28}};
            for (long[] s : shapes) {
                NDArray x = F.add(F.mul(ns.randn(m, new Shape(s)), 3), 1.5);
                NDArray w = ns.randn(m, new Shape(s[1]));
                NDArray b = ns.randn(m, new Shape(s[1]));
                NDArray composed = F.groupNormComposed(x, 32, w, b, 1e-5);
                String what = "group_norm " + new Shape(s);
                Assert.allClose(what, composed, F.groupNorm(x, 32, w, b, 1e-5), 1e-5, 2e-6);
                try (NDArray sig = composed.getNDArrayInternal().sigmoid();
                        NDArray act = composed.mul(sig)) {
                    Assert.allClose(what + " + silu", act, F.groupNormSilu(x, 32, w, b, 1e-5), 1e-5, 2e-6);
                }
                try (NDArray sig = x.getNDArrayInternal().sigmoid();
                        NDArray act = x.mul(sig)) {
                    Assert.allClose("silu " + new Shape(s), act, F.silu(x), 1e-6, 1e-6);
                }
                // an ordinary tensor: in-place updates are allowed (not an inference-mode tensor)
                NDArray y = F.groupNormSilu(x, 32, w, b, 1e-5);
                F.addi(y, 1);
            }
        }
    }

    /**
     * While autograd records, {@link F#groupNorm} and {@link F#groupNormSilu} run the layer-norm /
     * batch-norm form inside the module in one call: its output and its gradients for the input, the
     * weight and the bias equal the per-op form ({@link F#groupNormLayerBatch}) bit for bit.
     */
    @Test
    void trainingGroupNormInOneCallIsBitIdenticalToThePerOpForm() {
        long[][] shapes = {{2, 64, 16, 16}, {3, 96, 7}, {4, 32, 28, 28}};
        for (boolean withSilu : new boolean[] {false, true}) {
            for (long[] s : shapes) {
                float[][] perOp = groupNormAndGradients(s, withSilu, false);
                float[][] oneCall = groupNormAndGradients(s, withSilu, true);
                String what = (withSilu ? "group_norm + silu " : "group_norm ") + new Shape(s);
                String[] parts = {"output", "d x", "d weight", "d bias"};
                for (int i = 0; i < parts.length; i++) {
                    assertArrayEquals(perOp[i], oneCall[i], what + ": " + parts[i]);
                }
            }
        }
    }

    private static float[][] groupNormAndGradients(long[] s, boolean withSilu, boolean oneCall) {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(13);
            NDArray x = F.add(F.mul(ns.randn(m, new Shape(s)), 3), 1.5);
            NDArray w = ns.randn(m, new Shape(s[1]));
            NDArray b = ns.randn(m, new Shape(s[1]));
            NDArray up = ns.randn(m, new Shape(s));
            for (NDArray p : new NDArray[] {x, w, b}) {
                p.setRequiresGradient(true);
            }
            NDArray y;
            try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                if (oneCall) {
                    y = withSilu ? F.groupNormSilu(x, 32, w, b, 1e-5) : F.groupNorm(x, 32, w, b, 1e-5);
                } else {
                    NDArray n = F.groupNormLayerBatch(x, 32, w, b, 1e-5);
                    y = withSilu ? F.silu(n) : n;
                }
                gc.backward(y.mul(up).sum());
            }
            return new float[][] {y.toFloatArray(), x.getGradient().toFloatArray(), w.getGradient().toFloatArray(),
                b.getGradient().toFloatArray()};
        }
    }

    @Test
    void siluGradientUnderAutograd() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(12);
            NDArray x = ns.randn(m, new Shape(2, 32, 5, 5));
            NDArray up = ns.randn(m, new Shape(2, 32, 5, 5));
            x.setRequiresGradient(true);
            try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                gc.backward(F.silu(x).mul(up).sum());
            }
            // d silu / dx = s * (1 + x * (1 - s)), s = sigmoid(x)
            try (GradMode ignored = GradMode.disabled()) {
                NDArray s = x.getNDArrayInternal().sigmoid();
                NDArray expected = s.mul(F.add(x.mul(F.rsub(1, s)), 1)).mul(up);
                Assert.allClose("d silu", expected, x.getGradient(), 1e-5, 1e-6);
            }
        }
    }
}
