package io.github.sgm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;
import org.junit.jupiter.api.Test;

/**
 * Results do not depend on autograd recording: {@link F#silu} and {@link F#attention} (in place on
 * fresh arrays without autograd) and {@link F#groupNorm} give bit-identical results with and
 * without it and leave their inputs untouched; group norm matches its float64 definition; chunked
 * attention equals plain attention.
 */
class FInferencePathTest {

    private static float[] withGrad(boolean enabled, java.util.function.Supplier<NDArray> op) {
        boolean prev = F.setGradEnabled(enabled);
        try (NDArray r = op.get()) {
            return r.toFloatArray();
        } finally {
            F.setGradEnabled(prev);
        }
    }

    @Test
    void groupNormNoGradEqualsGradPath() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(3);
            NDArray x = ns.randn(m, new Shape(2, 64, 5, 7)).mul(3).add(1);
            NDArray w = ns.randn(m, new Shape(64));
            NDArray b = ns.randn(m, new Shape(64));
            float[] before = x.toFloatArray();
            for (NDArray[] wb : new NDArray[][] {{w, b}, {w, null}, {null, b}, {null, null}}) {
                float[] a = withGrad(true, () -> F.groupNorm(x, 32, wb[0], wb[1], 1e-5));
                float[] n = withGrad(false, () -> F.groupNorm(x, 32, wb[0], wb[1], 1e-5));
                String what = "group_norm no-grad path, weight " + (wb[0] != null) + " bias " + (wb[1] != null);
                if (wb[0] != null && wb[1] != null) {
                    // without autograd this is torch's own group_norm kernel (FusedKernels, issue 15), which
                    // rounds the affine differently from the layer-norm/batch-norm form: float rounding only
                    for (int i = 0; i < a.length; i++) {
                        org.junit.jupiter.api.Assertions.assertEquals(a[i], n[i], 2e-6 + 1e-5 * Math.abs(a[i]), what + " at " + i);
                    }
                } else {
                    assertArrayEquals(a, n, what);
                }
            }
            assertArrayEquals(before, x.toFloatArray(), "group_norm must not modify its input");
            assertArrayEquals(w.toFloatArray(), withGrad(false, () -> F.alias(w)), "weight unchanged");
        }
    }

    @Test
    void groupNormMatchesDefinition() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(4);
            NDArray x = ns.randn(m, new Shape(3, 8, 4, 4)).mul(2).add(5);
            NDArray w = ns.randn(m, new Shape(8));
            NDArray b = ns.randn(m, new Shape(8));
            // mean / biased variance per (sample, group) in float64
            double[] xs = x.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
            float[] ws = w.toFloatArray();
            float[] bs = b.toFloatArray();
            int groups = 4;
            int per = 2 * 16;
            double[] expect = new double[xs.length];
            for (int s = 0; s < 3; s++) {
                for (int g = 0; g < groups; g++) {
                    int off = (s * groups + g) * per;
                    double mean = 0;
                    for (int i = 0; i < per; i++) {
                        mean += xs[off + i];
                    }
                    mean /= per;
                    double var = 0;
                    for (int i = 0; i < per; i++) {
                        var += (xs[off + i] - mean) * (xs[off + i] - mean);
                    }
                    var /= per;
                    for (int i = 0; i < per; i++) {
                        int ch = g * 2 + i / 16;
                        expect[off + i] = (xs[off + i] - mean) / Math.sqrt(var + 1e-6) * ws[ch] + bs[ch];
                    }
                }
            }
            for (boolean grad : new boolean[] {true, false}) {
                float[] got = withGrad(grad, () -> F.groupNorm(x, groups, w, b, 1e-6));
                for (int i = 0; i < got.length; i++) {
                    if (Math.abs(got[i] - expect[i]) > 1e-5) {
                        throw new AssertionError("group_norm (grad " + grad + ") element " + i + ": " + got[i] + " vs " + expect[i]);
                    }
                }
            }
        }
    }

    @Test
    void siluNoGradEqualsGradPath() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = NoiseSource.seeded(5).randn(m, new Shape(4, 33)).mul(4);
            float[] before = x.toFloatArray();
            assertArrayEquals(withGrad(true, () -> F.silu(x)), withGrad(false, () -> F.silu(x)));
            assertArrayEquals(before, x.toFloatArray(), "silu must not modify its input");
        }
    }

    @Test
    void attentionNoGradEqualsGradPathAndChunkedEqualsPlain() {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(6);
            NDArray q = ns.randn(m, new Shape(2, 3, 37, 8));
            NDArray k = ns.randn(m, new Shape(2, 3, 11, 8));
            NDArray v = ns.randn(m, new Shape(2, 3, 11, 5));
            double scale = Math.pow(8, -0.5);
            float[] plain = withGrad(true, () -> F.attention(q, k, v, scale, 0));
            assertArrayEquals(plain, withGrad(false, () -> F.attention(q, k, v, scale, 0)), "no-grad attention");
            for (boolean grad : new boolean[] {true, false}) {
                // 2*3*rows*11 <= 100 -> 1 query row per chunk
                float[] chunked = withGrad(grad, () -> F.attention(q, k, v, scale, 100));
                for (int i = 0; i < plain.length; i++) {
                    if (Math.abs(plain[i] - chunked[i]) > 1e-6) {
                        throw new AssertionError("chunked attention (grad " + grad + ") element " + i + ": "
                                + chunked[i] + " vs " + plain[i]);
                    }
                }
            }
        }
    }
}
