package io.github.sgm4j.models;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.nn.StateDictException;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.testutil.Assert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Chunking and tiling against the plain path, every kl autoencoder config builds, bad input. */
class AutoencoderKLTest {

    /**
     * Tiling is an approximation: a tile does not see the context beyond its border. Measured on the
     * golden VAE (random weights, activations O(1)) with 8x8-latent tiles overlapping by 4 on a 16x16
     * latent: mean abs error 0.25, max 1.48 (encode 8x8-latent tiles of a 32x32 image: 0.12, 0.67). These bounds
     * catch a broken blend (which gives errors of the size of the image itself).
     */
    static final double TILED_MEAN_ABS = 0.4;

    static final double TILED_MAX_ABS = 2.5;

    /** Changing the batch size changes libtorch's convolution kernels: ulp-level differences. */
    static final double CHUNK_ATOL = 1e-5;

    static NDManager m;
    static AutoencoderKL ae;

    @BeforeAll
    static void build() throws IOException {
        m = NDManager.newBaseManager();
        ae = new Instantiator().instantiate(AutoencoderKLExtrasTest.caseConfig(), AutoencoderKL.class);
        ae.attach(m);
        ae.loadStateDict(SafeTensors.readAll(AutoencoderKLExtrasTest.CASE.resolve("weights.safetensors"), m), true);
    }

    /**
     * Asserts that {@code moments(x)} and {@code decode(z)} keep their plain-path values (within
     * {@code rtol}/{@code atol}) while {@code change} is in effect; {@code undo} restores the default.
     */
    static void assertUnchangedBy(AutoencoderKL ae, NDArray x, NDArray z, Runnable change, Runnable undo,
            double rtol, double atol) {
        NDArray plainM = ae.moments(x);
        NDArray plainD = ae.decode(z);
        change.run();
        try {
            Assert.allClose("chunked moments", plainM, ae.moments(x), rtol, atol);
            Assert.allClose("chunked decode", plainD, ae.decode(z), rtol, atol);
        } finally {
            undo.run();
        }
    }

    @AfterAll
    static void close() {
        m.close();
    }

    static void assertIllegal(String fragment, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(fragment), "expected '" + fragment + "' in: " + ex.getMessage());
    }

    @Test
    void chunkedEqualsPlain() {
        NDArray x = NoiseSource.seeded(1).randn(m, new Shape(5, 3, 16, 16));
        NDArray z = NoiseSource.seeded(2).randn(m, new Shape(5, 4, 8, 8));
        assertUnchangedBy(ae, x, z, () -> ae.setMaxBatchSize(2), () -> ae.setMaxBatchSize(null), 0, CHUNK_ATOL);
    }

    @Test
    void tilingWithWholeImageTileIsExactAndSmallTilesStayWithinTheBound() {
        NDArray z = NoiseSource.seeded(3).randn(m, new Shape(1, 4, 16, 16));
        NDArray x = NoiseSource.seeded(4).randn(m, new Shape(1, 3, 32, 32));
        NDArray plainD = ae.decode(z);
        NDArray plainM = ae.moments(x);
        ae.setTiling(new AutoencoderKL.Tiling(16, 4));
        try {
            Assert.allClose("one-tile decode", plainD, ae.decode(z), 0, 0);
            Assert.allClose("one-tile encode", plainM, ae.moments(x), 0, 0);
            ae.setTiling(new AutoencoderKL.Tiling(8, 4));
            NDArray tiled = ae.decode(z);
            double[] err = errors(plainD, tiled);
            System.out.printf("[vae] tiled decode 8/4 on a 16x16 latent: mean abs error %.4f, max %.4f%n", err[0], err[1]);
            assertTrue(err[0] < TILED_MEAN_ABS && err[1] < TILED_MAX_ABS, "tiled decode error " + java.util.Arrays.toString(err));
            double[] errM = errors(plainM, ae.moments(x));
            System.out.printf("[vae] tiled encode 8/4 on a 32x32 image: mean abs error %.4f, max %.4f%n", errM[0], errM[1]);
            assertTrue(errM[0] < TILED_MEAN_ABS && errM[1] < TILED_MAX_ABS, "tiled encode error " + java.util.Arrays.toString(errM));
        } finally {
            ae.setTiling(null);
        }
    }

    /** {mean, max} absolute difference. */
    static double[] errors(NDArray a, NDArray b) {
        double[] x = Checker.toDoubles(a);
        double[] y = Checker.toDoubles(b);
        double max = 0;
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            double d = Math.abs(x[i] - y[i]);
            max = Math.max(max, d);
            sum += d;
        }
        return new double[] {sum / x.length, max};
    }

    @Test
    void badInput() {
        assertIllegal("expects images [B, 3, H, W], got (1, 4, 16, 16)",
                () -> ae.moments(m.zeros(new Shape(1, 4, 16, 16))));
        assertIllegal("cannot be downsampled evenly by 2", () -> ae.moments(m.zeros(new Shape(1, 3, 15, 16))));
        assertIllegal("expects latents [B, 4, h, w], got (1, 3, 8, 8)", () -> ae.decode(m.zeros(new Shape(1, 3, 8, 8))));
        Map<String, NDArray> sd = new LinkedHashMap<>(ae.stateDict());
        sd.keySet().removeIf(k -> k.startsWith("decoder.up.0"));
        AutoencoderKL fresh = new Instantiator().instantiate(ConfigNode.of(Map.of("target", "sgm.models.autoencoder.AutoencoderKL",
                "params", Map.of("embed_dim", 4, "ddconfig", ae.getDDConfigMap()))), AutoencoderKL.class);
        fresh.attach(m);
        StateDictException e = assertThrows(StateDictException.class, () -> fresh.loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("decoder.up.0.block.0.conv1.weight"), e.getMessage());
    }

    @Test
    void everyKlAutoencoderConfigBuilds() throws IOException {
        List<String[]> nodes = List.of(
                new String[] {"sd1/v1-inference.yaml", "model.params.first_stage_config"},
                new String[] {"sgm/inference/sd_xl_base.yaml", "model.params.first_stage_config"},
                new String[] {"sgm/inference/sd_2_1.yaml", "model.params.first_stage_config"},
                new String[] {"sgm/example_training/autoencoder/kl-f4/imagenet-attnfree-logvar.yaml", "model"},
                new String[] {"sgm/example_training/autoencoder/kl-f4/imagenet-kl_f8_8chn.yaml", "model"});
        for (String[] n : nodes) {
            AutoencoderKL a = io.github.sgm4j.keys.KeyListings.build(io.github.sgm4j.keys.KeyListings.node(n[0], n[1]),
                    AutoencoderKL.class);
            assertTrue(a.stateDictSpec().size() > 100, n[0]);
        }
        try (Stream<Path> s = Files.list(Path.of("src/test/resources/reference-configs/ldm/autoencoder"))) {
            for (Path p : s.filter(f -> f.getFileName().toString().contains("kl")).toList()) {
                AutoencoderKL a = new Instantiator().instantiate(ConfigNode.load(p).getNode("model"), AutoencoderKL.class);
                assertTrue(a.stateDictSpec().size() > 50, p.toString());
            }
        }
    }
}
