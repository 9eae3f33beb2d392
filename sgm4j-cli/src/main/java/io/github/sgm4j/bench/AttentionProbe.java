package io.github.sgm4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.noise.NoiseSource;
import java.util.Arrays;
import java.util.Locale;

/**
 * Time and peak memory of one self-attention of SD 1.5's first UNet level (8 heads of 40 channels)
 * at a given token count, by one of the three ways {@code F.attention} can compute it (issue 15):
 * {@code plain} (the whole score matrix, {@code softmax(q k^T * scale) v}), {@code chunked} (query
 * rows in chunks of at most {@code F.DEFAULT_MAX_SCORE_ELEMENTS} scores) and {@code fused}
 * (libtorch's {@code scaled_dot_product_attention}). No autograd. One warm-up and three timed runs;
 * prints one JSON line with the times, the process's peak RSS ({@code VmHWM}) and its RSS peak
 * before the first attention, and, for {@code fused} and {@code chunked}, the largest difference
 * from the plain formula when {@code --check} is given. Run each mode in its own process: the peak
 * is per process.
 *
 * <p>Usage: {@code AttentionProbe plain|chunked|fused TOKENS [BATCH] [--check]}; 4 096 tokens is
 * SD 1.5 at 512x512, 16 384 at 1024x1024; {@code BATCH} 2 (default) is a guided step's doubled batch.
 */
public final class AttentionProbe {

    private static final int HEADS = 8;
    private static final int DIM_HEAD = 40;

    private AttentionProbe() {}

    /**
     * Entry point.
     *
     * @param args the mode, the token count, optionally the batch and {@code --check}
     * @throws IllegalArgumentException on an unknown mode or missing arguments
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: AttentionProbe plain|chunked|fused TOKENS [BATCH] [--check]");
        }
        String mode = args[0];
        if (!mode.equals("plain") && !mode.equals("chunked") && !mode.equals("fused")) {
            throw new IllegalArgumentException("unknown mode " + mode + " (plain, chunked, fused)");
        }
        long tokens = Long.parseLong(args[1]);
        long batch = args.length > 2 && !args[2].startsWith("--") ? Long.parseLong(args[2]) : 2;
        boolean check = Arrays.asList(args).contains("--check");
        double scale = 1 / Math.sqrt(DIM_HEAD);
        try (NDManager m = NDManager.newBaseManager();
                GradMode ignored = GradMode.disabled()) {
            NoiseSource ns = NoiseSource.seeded(0);
            Shape shape = new Shape(batch, HEADS, tokens, DIM_HEAD);
            NDArray q = ns.randn(m, shape);
            NDArray k = ns.randn(m, shape);
            NDArray v = ns.randn(m, shape);
            long rssBefore = BenchMain.peakRssMb();
            double[] ms = new double[4];
            NDArray out = null;
            for (int i = 0; i < ms.length; i++) {
                if (out != null) {
                    out.close();
                }
                long t0 = System.nanoTime();
                out = switch (mode) {
                    case "plain" -> F.attention(q, k, v, scale, 0);
                    case "chunked" -> F.attentionChunked(q, k, v, scale, F.DEFAULT_MAX_SCORE_ELEMENTS);
                    default -> F.attentionFused(q, k, v, scale);
                };
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            double[] timed = Arrays.copyOfRange(ms, 1, ms.length);
            Arrays.sort(timed);
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "{\"probe\": \"attention\", \"mode\": \"%s\", \"tokens\": %d, \"batch\": %d, \"heads\": %d, \"dim_head\": %d, "
                            + "\"warmup_ms\": %.1f, \"median_ms\": %.1f, \"min_ms\": %.1f, \"peak_rss_mb\": %d, \"rss_before_mb\": %d",
                    mode, tokens, batch, HEADS, DIM_HEAD, ms[0], timed[1], timed[0], BenchMain.peakRssMb(), rssBefore));
            if (check && !mode.equals("plain")) {
                // the plain formula over one query chunk at a time, row for row as the unchunked path
                try (NDArray reference = F.attentionChunked(q, k, v, scale, F.DEFAULT_MAX_SCORE_ELEMENTS);
                        NDArray diff = reference.sub(out);
                        NDArray abs = diff.abs();
                        NDArray maxDiff = abs.max();
                        NDArray refAbs = reference.abs();
                        NDArray maxRef = refAbs.max()) {
                    sb.append(String.format(Locale.ROOT, ", \"max_abs_diff_vs_formula\": %.3g, \"max_abs_output\": %.3g",
                            maxDiff.getFloat(), maxRef.getFloat()));
                }
            }
            out.close();
            System.out.println(sb.append('}'));
        }
    }
}
