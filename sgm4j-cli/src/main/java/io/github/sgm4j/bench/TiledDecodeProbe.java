package io.github.sgm4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer;
import io.github.sgm4j.modules.diffusionmodules.model.DDConfig;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;
import java.util.Locale;

/**
 * Peak memory of decoding one large image with the SD VAE (the kl-f8 ddconfig of {@code
 * v1-inference.yaml}: ch 128, ch_mult [1,2,4,4], 2 res blocks, z 4, mid-block attention), random
 * weights: prints one JSON line with the peak resident set size ({@code VmHWM}) and the time.
 *
 * <p>Usage: {@code TiledDecodeProbe [SIZE] [TILE OVERLAP | untiled]} (defaults 1024, 32 8: latent
 * tiles of 32 = 256-pixel image tiles overlapping by 64 pixels).
 */
public final class TiledDecodeProbe {

    private TiledDecodeProbe() {}

    /**
     * Entry point: builds the VAE, decodes one random latent and prints the JSON line to standard
     * output.
     *
     * @param args optional {@code SIZE} (image side in pixels, default 1024), then either {@code
     *     untiled} or {@code TILE OVERLAP} in latent pixels (default 32 8)
     * @throws NumberFormatException when a size is not an integer
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        boolean untiled = args.length > 1 && args[1].equals("untiled");
        int tile = !untiled && args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int overlap = !untiled && args.length > 2 ? Integer.parseInt(args[2]) : 8;
        try (NDManager m = NDManager.newBaseManager()) {
            F.setGradEnabled(false);
            DDConfig dd = new DDConfig(128, 3, List.of(1, 2, 4, 4), 2, List.of(), 0.0, true, 3, 256, 4, true, "vanilla",
                    false, false);
            AutoencoderKL vae = new AutoencoderKL(dd, 4, true, new DiagonalGaussianRegularizer(true), null);
            NoiseSource noise = NoiseSource.seeded(0);
            vae.initialize(m, noise);
            long rssModel = BenchMain.peakRssMb();
            if (!untiled) {
                vae.setTiling(new AutoencoderKL.Tiling(tile, overlap));
            }
            int f = dd.downsamplingFactor();
            NDArray z = noise.randn(m, new Shape(1, 4, size / f, size / f));
            long t0 = System.nanoTime();
            NDArray img = vae.decode(z);
            double secs = (System.nanoTime() - t0) / 1e9;
            boolean nonfinite = img.isInfinite().any().getBoolean() || img.isNaN().any().getBoolean();
            System.out.printf(Locale.ROOT,
                    "{\"probe\": \"vae-decode-memory\", \"size\": %d, \"tiling\": %s, \"output\": \"%s\", \"seconds\": %.1f,"
                            + " \"peak_rss_mb_after_build\": %d, \"peak_rss_mb\": %d, \"nonfinite\": %b}%n",
                    size, untiled ? "null" : "{\"latent_tile\": " + tile + ", \"latent_overlap\": " + overlap + "}",
                    img.getShape(), secs, rssModel, BenchMain.peakRssMb(), nonfinite);
        }
    }
}
