package io.github.sgm4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonParser;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.modules.diffusionmodules.model.AttnBlock;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.TensorSpec;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.noise.ReplayNoiseSource;
import io.github.sgm4j.testutil.Assert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Query-chunked attention, ldm's {@code sample_posterior}, {@code colorize_nlabels} and {@code
 * ignore_keys}, the engine-style n-samples-at-a-time helpers, tiled-encode input checks.
 */
class AutoencoderKLExtrasTest {

    /** Chunking only splits the query rows: the same kernels per row, differences at float rounding. */
    static final double CHUNKED_ATTN_ATOL = 1e-6;

    /**
     * Through a whole network the per-row rounding differences of the chunked attention (libtorch
     * picks other matmul blockings for other row counts) grow with the activations: relative 1e-5.
     */
    static final double CHUNKED_NET_RTOL = 1e-5;

    /**
     * Absolute part of the whole-network bound: near-zero outputs still carry the rounding of the
     * layers after the attention (a CI CPU showed 1.3e-6 on an output of 0.02), so 1e-5 absolute.
     */
    static final double CHUNKED_NET_ATOL = 1e-5;

    /** Changing the batch size changes libtorch's convolution kernels: ulp-level differences. */
    static final double CHUNK_ATOL = 1e-5;

    static final Path CASE = Path.of("src/test/resources/golden/autoencoder_kl");

    static NDManager m;
    static AutoencoderKL ae;
    static Map<String, NDArray> weights;

    static ConfigNode caseConfig() throws IOException {
        return ConfigNode.fromJson(JsonParser.parseString(Files.readString(CASE.resolve("case.json")))
                .getAsJsonObject().get("config"), "autoencoder_kl");
    }

    @BeforeAll
    static void build() throws IOException {
        m = NDManager.newBaseManager();
        ae = new Instantiator().instantiate(caseConfig(), AutoencoderKL.class);
        ae.attach(m);
        weights = SafeTensors.readAll(CASE.resolve("weights.safetensors"), m);
        ae.loadStateDict(weights, true);
    }

    static ReplayNoiseSource replay(NDArray... draws) {
        List<ReplayNoiseSource.Draw> d = new java.util.ArrayList<>();
        for (NDArray a : draws) {
            d.add(new ReplayNoiseSource.Draw("randn", a));
        }
        return new ReplayNoiseSource("test", d);
    }

    @AfterAll
    static void close() {
        m.close();
    }

    @Test
    void chunkedAttentionEqualsPlain() {
        // 32x32 positions: 1024 x 1024 scores per sample; chunk to 100 000 scores (~97 query rows),
        // and the whole autoencoder with every attention block chunked
        assertAttentionPathEqualsPlain("chunked", 11, 100_000, 10);
    }

    /**
     * Without autograd, above the threshold the attention block takes libtorch's fused attention
     * (its [B, HW, C] inputs are transposed views, made unit-stride in the last dimension first):
     * within the chunked path's bound of the plain formula, for the block and the whole autoencoder.
     */
    @Test
    void fusedAttentionEqualsPlainWithoutAutograd() {
        try (io.github.sgm4j.nn.GradMode ignored = io.github.sgm4j.nn.GradMode.disabled()) {
            assertAttentionPathEqualsPlain("fused", 21, 1, 1);
        }
    }

    /** One AttnBlock, then the whole autoencoder, with the given thresholds against the plain formula. */
    private static void assertAttentionPathEqualsPlain(String what, int seed, long blockThreshold, long aeThreshold) {
        AttnBlock block = new AttnBlock(64);
        block.initialize(m, NoiseSource.seeded(seed));
        NDArray x = NoiseSource.seeded(seed + 1).randn(m, new Shape(2, 64, 32, 32));
        block.setMaxScoreElements(0);
        NDArray plain = block.forward(x);
        block.setMaxScoreElements(blockThreshold);
        Assert.allClose(what + " AttnBlock", plain, block.forward(x), 0, CHUNKED_ATTN_ATOL);
        NDArray img = NoiseSource.seeded(seed + 2).randn(m, new Shape(1, 3, 16, 16));
        NDArray z = NoiseSource.seeded(seed + 3).randn(m, new Shape(1, 4, 8, 8));
        AutoencoderKLTest.assertUnchangedBy(ae, img, z, () -> ae.setMaxScoreElements(aeThreshold),
                () -> ae.setMaxScoreElements(io.github.sgm4j.nn.F.DEFAULT_MAX_SCORE_ELEMENTS),
                CHUNKED_NET_RTOL, CHUNKED_NET_ATOL);
    }

    @Test
    void samplePosteriorFalseDecodesTheMode() {
        NDArray x = NoiseSource.seeded(15).randn(m, new Shape(2, 3, 16, 16));
        NDList mode = ae.forward(x, false, replay());
        try (DiagonalGaussianDistribution post = ae.posterior(x)) {
            Assert.allClose("mode", post.getMean(), mode.get(0), 0, 0);
        }
        Assert.allClose("decode(mode)", ae.decode(mode.get(0)), mode.get(1), 0, 0);
        NDArray eps = NoiseSource.seeded(16).randn(m, new Shape(2, 4, 8, 8));
        NDList sampled = ae.forward(x, true, replay(eps));
        try (DiagonalGaussianDistribution post = ae.posterior(x)) {
            Assert.allClose("mean + std * eps", post.getMean().add(post.getStd().mul(eps)), sampled.get(0), 1e-6, 1e-6);
        }
        Assert.allClose("same kl", mode.get(2), sampled.get(2), 0, 0);
    }

    @Test
    void nSamplesAtATimeHelpers() {
        NDArray x = NoiseSource.seeded(17).randn(m, new Shape(5, 3, 16, 16));
        NDArray z = NoiseSource.seeded(18).randn(m, new Shape(5, 4, 8, 8));
        Assert.allClose("decode 2 at a time", ae.decode(z), ae.decodeNSamplesAtATime(z, 2), 0, CHUNK_ATOL);
        Assert.allClose("decode null = whole batch", ae.decode(z), ae.decodeNSamplesAtATime(z, null), 0, 0);
        // each slice draws its own noise, in slice order: shapes [2,...], [2,...], [1,...]
        NDArray e0 = NoiseSource.seeded(19).randn(m, new Shape(2, 4, 8, 8));
        NDArray e1 = NoiseSource.seeded(20).randn(m, new Shape(2, 4, 8, 8));
        NDArray e2 = NoiseSource.seeded(21).randn(m, new Shape(1, 4, 8, 8));
        ReplayNoiseSource replay = replay(e0, e1, e2);
        NDArray chunked = ae.encodeNSamplesAtATime(x, 2, replay);
        replay.assertExhausted();
        NDArray eps = ai.djl.ndarray.NDArrays.concat(new NDList(e0, e1, e2), 0);
        try (DiagonalGaussianDistribution post = ae.posterior(x)) {
            Assert.allClose("chunked encode", post.getMean().add(post.getStd().mul(eps)), chunked, 1e-5, CHUNK_ATOL);
        }
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ae.decodeNSamplesAtATime(z, 0));
        assertTrue(ex.getMessage().contains("must be >= 1, got 0"), ex.getMessage());
    }

    @Test
    void tiledEncodeRejectsUnevenSizesLikeThePlainPath() {
        ae.setTiling(new AutoencoderKL.Tiling(4, 2));
        try {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> ae.moments(m.zeros(new Shape(1, 3, 33, 32))));
            assertTrue(ex.getMessage().contains("33x32 cannot be downsampled evenly by 2"), ex.getMessage());
            ex = assertThrows(IllegalArgumentException.class, () -> ae.moments(m.zeros(new Shape(1, 4, 32, 32))));
            assertTrue(ex.getMessage().contains("expects images [B, 3, H, W]"), ex.getMessage());
            ex = assertThrows(IllegalArgumentException.class, () -> ae.decode(m.zeros(new Shape(1, 8, 16, 16))));
            assertTrue(ex.getMessage().contains("expects latents [B, 4, h, w], got (1, 8, 16, 16)"), ex.getMessage());
        } finally {
            ae.setTiling(null);
        }
    }

    static Map<String, Object> ldmConfig(Map<String, Object> extra) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("embed_dim", 4);
        params.put("ddconfig", ae.getDDConfigMap());
        params.put("lossconfig", Map.of("target", "torch.nn.Identity"));
        params.put("monitor", "val/rec_loss");
        params.putAll(extra);
        return Map.of("target", "ldm.models.autoencoder.AutoencoderKL", "params", params);
    }

    @Test
    void colorizeNlabelsIsAPersistentBuffer() {
        AutoencoderKL a = new Instantiator().instantiate(ConfigNode.of(ldmConfig(Map.of("colorize_nlabels", 5))),
                AutoencoderKL.class);
        TensorSpec spec = a.stateDictSpec().stream().filter(t -> t.key().equals("colorize")).findFirst().orElseThrow();
        assertEquals(new Shape(3, 5, 1, 1), spec.shape());
        a.initialize(m, NoiseSource.seeded(0));
        assertEquals(new Shape(3, 5, 1, 1), a.stateDict().get("colorize").getShape());
    }

    @Test
    void ckptPathHonoursIgnoreKeys(@TempDir Path dir) throws IOException {
        Path ckpt = dir.resolve("vae.safetensors");
        SafeTensors.write(ckpt, weights, Map.of());
        AutoencoderKL a = new Instantiator().instantiate(ConfigNode.of(ldmConfig(Map.of("ckpt_path", ckpt.toString(),
                "ignore_keys", List.of("decoder.", "post_quant_conv")))), AutoencoderKL.class);
        a.initialize(m, NoiseSource.seeded(0));
        Map<String, NDArray> sd = a.stateDict();
        Assert.allClose("encoder restored", weights.get("encoder.conv_in.weight"), sd.get("encoder.conv_in.weight"), 0, 0);
        Assert.allClose("quant_conv restored", weights.get("quant_conv.weight"), sd.get("quant_conv.weight"), 0, 0);
        double diff = sd.get("decoder.conv_in.weight").sub(weights.get("decoder.conv_in.weight")).abs().max().getFloat();
        assertTrue(diff > 0, "decoder.* was in ignore_keys and must keep its initial values");
    }
}
