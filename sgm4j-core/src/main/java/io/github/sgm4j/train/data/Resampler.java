package io.github.sgm4j.train.data;

/**
 * Antialiased bicubic resizing of channels-first float images: the filter of {@code
 * torch.nn.functional.interpolate(mode="bicubic", antialias=True, align_corners=False)} and of
 * PIL's {@code BICUBIC} resize (Keys cubic with {@code a = -0.5}; when shrinking, the kernel is
 * widened by the scale factor, so every input pixel contributes, as in area averaging). Chosen
 * because one filter then serves both directions: sharp when enlarging small images, free of
 * aliasing when shrinking photos to training size, and the same pixels a torchvision {@code
 * Resize(..., BICUBIC, antialias=True)} pipeline feeds the reference. {@link #resize} does not
 * clamp (bicubic overshoots slightly at edges, as torch does on float tensors); {@link #clamp01}
 * bounds the result as PIL's 8-bit resize does, which the data pipelines use.
 *
 * <p>Separable: the width is resampled first, then the height, in float32 accumulation per output
 * pixel with normalised weights.
 */
public final class Resampler {

    private static final double SUPPORT = 2.0;
    private static final double A = -0.5;

    private Resampler() {}

    /**
     * Resizes {@code (C, H, W)} to {@code (C, outH, outW)}.
     *
     * @param src the values, row-major
     * @param c channels
     * @param h input height
     * @param w input width
     * @param outH output height, at least 1
     * @param outW output width, at least 1
     * @return a new array (or {@code src} itself when the size does not change)
     */
    public static float[] resize(float[] src, int c, int h, int w, int outH, int outW) {
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException("output size must be positive, got " + outH + "x" + outW);
        }
        float[] x = src;
        if (outW != w) {
            Weights wx = weights(w, outW);
            float[] y = new float[c * h * outW];
            for (int row = 0; row < c * h; row++) {
                int in = row * w;
                int out = row * outW;
                for (int i = 0; i < outW; i++) {
                    int k0 = wx.start[i];
                    int base = i * wx.taps;
                    float acc = 0f;
                    for (int k = 0; k < wx.size[i]; k++) {
                        acc += wx.w[base + k] * x[in + k0 + k];
                    }
                    y[out + i] = acc;
                }
            }
            x = y;
            w = outW;
        }
        if (outH != h) {
            Weights wy = weights(h, outH);
            float[] y = new float[c * outH * w];
            for (int ch = 0; ch < c; ch++) {
                int in = ch * h * w;
                int out = ch * outH * w;
                for (int i = 0; i < outH; i++) {
                    int k0 = wy.start[i];
                    int base = i * wy.taps;
                    int o = out + i * w;
                    for (int k = 0; k < wy.size[i]; k++) {
                        float wk = wy.w[base + k];
                        int r = in + (k0 + k) * w;
                        for (int col = 0; col < w; col++) {
                            y[o + col] += wk * x[r + col];
                        }
                    }
                }
            }
            x = y;
        }
        return x;
    }

    /**
     * Clamps every value to [0, 1] in place.
     *
     * @param x the values
     * @return {@code x}
     */
    public static float[] clamp01(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.min(1.0f, Math.max(0.0f, x[i]));
        }
        return x;
    }

    /** Per output index: the first input index, the number of taps and the normalised weights. */
    private record Weights(int[] start, int[] size, float[] w, int taps) {}

    private static Weights weights(int in, int out) {
        double scale = (double) in / out;
        double support = scale >= 1.0 ? SUPPORT * scale : SUPPORT;
        double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[out];
        int[] size = new int[out];
        float[] w = new float[out * taps];
        double[] tmp = new double[taps];
        for (int i = 0; i < out; i++) {
            double center = scale * (i + 0.5);
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xsize = Math.min((int) (center + support + 0.5), in) - xmin;
            double total = 0;
            for (int j = 0; j < xsize; j++) {
                double wj = cubic((j + xmin - center + 0.5) * invscale);
                tmp[j] = wj;
                total += wj;
            }
            for (int j = 0; j < xsize; j++) {
                w[i * taps + j] = (float) (total != 0 ? tmp[j] / total : 0);
            }
            start[i] = xmin;
            size[i] = xsize;
        }
        return new Weights(start, size, w, taps);
    }

    private static double cubic(double x) {
        x = Math.abs(x);
        if (x < 1.0) {
            return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
        }
        if (x < 2.0) {
            return (((x - 5.0) * x + 8.0) * x - 4.0) * A;
        }
        return 0.0;
    }
}
