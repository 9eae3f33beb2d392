package io.github.sgm4j.util;

/**
 * Reconstruction quality of images in [0, 1]: PSNR and SSIM.
 *
 * <p>SSIM is the index of Wang, Bovik, Sheikh and Simoncelli (2004) with its usual settings: an 11x11
 * Gaussian window of standard deviation 1.5, {@code K1 = 0.01}, {@code K2 = 0.03}, data range 1,
 * computed over the window positions that fit inside the image ("valid", no padding), averaged over
 * positions and channels — the default of torchmetrics' and pytorch-msssim's {@code ssim}. The
 * statistics use the window-weighted (population) covariance. Computed in double precision.
 */
public final class ImageMetrics {

    /** Side of the Gaussian window. */
    public static final int WINDOW = 11;

    /** Standard deviation of the Gaussian window. */
    public static final double SIGMA = 1.5;

    private static final double C1 = 0.01 * 0.01;
    private static final double C2 = 0.03 * 0.03;
    private static final double[] G = gaussian();

    private ImageMetrics() {}

    private static double[] gaussian() {
        double[] g = new double[WINDOW];
        double sum = 0;
        for (int i = 0; i < WINDOW; i++) {
            double d = i - (WINDOW - 1) / 2.0;
            g[i] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
            sum += g[i];
        }
        for (int i = 0; i < WINDOW; i++) {
            g[i] /= sum;
        }
        return g;
    }

    /**
     * Peak signal-to-noise ratio of one image, {@code 10 log10(1 / MSE)} for data range 1.
     *
     * @param a the image, values in [0, 1], any layout
     * @param b the other image, same length
     * @return the PSNR in dB ({@code +Infinity} for identical images)
     * @throws IllegalArgumentException when the lengths differ or are zero
     */
    public static double psnr(float[] a, float[] b) {
        check(a, b);
        double se = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            se += d * d;
        }
        double mse = se / a.length;
        return 10 * Math.log10(1.0 / mse);
    }

    /**
     * SSIM of one image (see the class comment).
     *
     * @param a the image [C, H, W] flattened, values in [0, 1]
     * @param b the other image, same layout
     * @param c channels
     * @param h height (at least {@value #WINDOW})
     * @param w width (at least {@value #WINDOW})
     * @return the mean SSIM over channels and valid window positions
     * @throws IllegalArgumentException when the sizes do not match or the image is smaller than the window
     */
    public static double ssim(float[] a, float[] b, int c, int h, int w) {
        check(a, b);
        if (a.length != (long) c * h * w) {
            throw new IllegalArgumentException("SSIM: " + a.length + " values are not " + c + "x" + h + "x" + w);
        }
        if (h < WINDOW || w < WINDOW) {
            throw new IllegalArgumentException("SSIM needs images of at least " + WINDOW + "x" + WINDOW + ", got " + h
                    + "x" + w);
        }
        int oh = h - WINDOW + 1;
        int ow = w - WINDOW + 1;
        double total = 0;
        double[] x = new double[h * w];
        double[] y = new double[h * w];
        double[] xx = new double[h * w];
        double[] yy = new double[h * w];
        double[] xy = new double[h * w];
        for (int ch = 0; ch < c; ch++) {
            int off = ch * h * w;
            for (int i = 0; i < h * w; i++) {
                x[i] = a[off + i];
                y[i] = b[off + i];
                xx[i] = x[i] * x[i];
                yy[i] = y[i] * y[i];
                xy[i] = x[i] * y[i];
            }
            double[] mx = filter(x, h, w);
            double[] my = filter(y, h, w);
            double[] sxx = filter(xx, h, w);
            double[] syy = filter(yy, h, w);
            double[] sxy = filter(xy, h, w);
            double sum = 0;
            for (int i = 0; i < oh * ow; i++) {
                double vx = sxx[i] - mx[i] * mx[i];
                double vy = syy[i] - my[i] * my[i];
                double cov = sxy[i] - mx[i] * my[i];
                sum += ((2 * mx[i] * my[i] + C1) * (2 * cov + C2))
                        / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
            }
            total += sum / (oh * ow);
        }
        return total / c;
    }

    /** Separable valid Gaussian filtering: [h, w] -> [h - 10, w - 10]. */
    private static double[] filter(double[] img, int h, int w) {
        int oh = h - WINDOW + 1;
        int ow = w - WINDOW + 1;
        double[] rows = new double[h * ow];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < ow; j++) {
                double s = 0;
                for (int k = 0; k < WINDOW; k++) {
                    s += G[k] * img[i * w + j + k];
                }
                rows[i * ow + j] = s;
            }
        }
        double[] out = new double[oh * ow];
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j++) {
                double s = 0;
                for (int k = 0; k < WINDOW; k++) {
                    s += G[k] * rows[(i + k) * ow + j];
                }
                out[i * ow + j] = s;
            }
        }
        return out;
    }

    private static void check(float[] a, float[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("images of " + a.length + " and " + b.length + " values cannot be compared");
        }
    }
}
