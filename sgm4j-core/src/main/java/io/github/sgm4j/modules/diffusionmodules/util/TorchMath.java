package io.github.sgm4j.modules.diffusionmodules.util;

/**
 * Scalar float32 math as the reference's PyTorch 1.13 CPU kernels compute it, for the few places
 * where a one-ulp difference of libtorch 2.x's kernels shows in a golden comparison.
 */
public final class TorchMath {

    private TorchMath() {}

    /**
     * {@code torch.exp} on float32 as torch 1.13 computes it on CPU ({@code Sleef_expf8_u10}, FMA
     * variant; at most 1 ulp from the correctly rounded value, which libtorch 2.7 returns instead).
     * For example {@code exp(-ln(10000)/3)} is {@code 0x1.7c3d2cp-5} here and in torch 1.13, and
     * {@code 0x1.7c3d2ep-5} in libtorch 2.7; through {@code timestep_embedding} of SDXL-sized
     * arguments (~1000) that ulp becomes ~4e-6 in the embedding.
     *
     * @param d the exponent
     * @return {@code exp(d)} as torch 1.13 rounds it
     */
    public static float expf(float d) {
        if (d < -104f) {
            return 0f;
        }
        if (d > 104f) {
            return Float.POSITIVE_INFINITY;
        }
        if (Float.isNaN(d)) {
            return d;
        }
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
        float s = Math.fma((float) q, -0.693145751953125f, d);
        s = Math.fma((float) q, -1.428606765330187045e-06f, s);
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1.0f + Math.fma(s * s, u, s);
        return Math.scalb(u, q);
    }
}
