package io.github.sgm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.golden.Tolerance;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.modules.encoders.text.TextTokenizer;
import io.github.sgm4j.modules.encoders.text.Tokenizers;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt to image against the reference (issue 14): {@code golden-extra/txt2img}, made by {@code
 * gen_txt2img.py} running sgm's {@code api.py} / {@code helpers.do_sample} (SDXL-structured tiny
 * config, EulerEDM, VanillaCFG, {@code force_uc_zero_embeddings=["txt"]}) and ldm's {@code
 * txt2img.py} loop (v1-inference-structured tiny config, DDIM, eta 0) on hashed random weights. The
 * checkpoint is rebuilt here from the case's recipe, written as one safetensors file and loaded by
 * {@link SamplingPipeline#fromConfig(io.github.sgm4j.config.ConfigNode, Path, NDManager)} strictly;
 * the run is seeded with the reference's {@code torch.manual_seed} value. Compared over the full
 * tensors: the token ids (exact), the seeded initial noise (exact), c / uc, the final latents and the
 * images; then the case's variants (sgm: the API's default DPMPP2MSampler at 48x32, the ancestral
 * EulerAncestralSampler, which draws per step, {@code image_to_image} / {@code do_img2img} at
 * strength 0.5, and base then refiner ({@code tiny_sd_xl_refiner.yaml}, the API's {@code refiner} on
 * the base's latents with the noise stream continuing); an SD 2.1 768 case (v-prediction, one
 * OpenCLIP tower, HeunEDMSampler) where the API embeds the negative prompt; ldm: PLMS at 48x32 and {@code img2img.py} at strength 0.6): latents and images.
 */
class TextToImageGoldenTest {

    /**
     * Conditioning: two-layer width-16 text towers (torch 1.13 vs libtorch 2.7.1 kernels) and the
     * size embeddings; outputs of order 1 (measured worst 9.5e-7).
     */
    static final Tolerance COND = new Tolerance(1e-5, 1e-5);

    /**
     * Final latents: three or four guided steps through a random UNet (the refiner run: six); the
     * rounding of the first evaluations is amplified by the guidance scale and the step sizes (latents
     * up to 50 on the sgm case; measured worst 1.4e-4 absolute, 2.8e-6 of the largest |latent|). The
     * absolute part is this fraction of the case's largest |latent| ({@link #latents}).
     */
    static final Tolerance LATENTS_PER_MAX = new Tolerance(1e-4, 1e-5);

    /** Images in [0, 1] after the random decoder (measured worst 4.1e-6). */
    static final Tolerance IMAGES = new Tolerance(0, 1e-4);

    /** Token ids: equal. */
    static final Tolerance EXACT = Tolerance.EXACT;

    /**
     * The seeded noise: bit for bit where libtorch runs its vectorised normal kernel (the kernel the
     * reference's draws came from); on scalar kernels ({@code ATEN_CPU_CAPABILITY=default}, CPUs
     * without AVX2) torch's own draws differ in the last bits, as {@code TorchNoiseSourceTest} states.
     */
    static final Tolerance NOISE = vectorisedKernels() ? Tolerance.EXACT : new Tolerance(1e-6, 2e-6);

    static boolean vectorisedKernels() {
        if ("default".equalsIgnoreCase(System.getenv("ATEN_CPU_CAPABILITY"))) {
            return false;
        }
        try {
            return java.nio.file.Files.readString(Path.of("/proc/cpuinfo")).contains(" avx2");
        } catch (java.io.IOException | RuntimeException e) {
            return true;
        }
    }

    static final Path DIR = Path.of("src/test/resources/golden-extra/txt2img");

    static NDManager m;
    static JsonObject meta;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        m = NDManager.newBaseManager();
        meta = JsonParser.parseString(Files.readString(DIR.resolve("cases.json"))).getAsJsonObject();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    /** The generator's hashed_values: (u - 2047.5) / 2048 of a 12-bit integer hash of (seed, index). */
    static float[] hashedWeights(long seed, int n, double scale, double offset) {
        final long mask = 0xFFFFFFFFL;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            long x = ((long) i * 0x9E3779B1L + seed * 0x85EBCA77L) & mask;
            x ^= x >>> 15;
            x = (x * 0x2C1B3C6DL) & mask;
            x ^= x >>> 12;
            x = (x * 0x297A2D39L) & mask;
            x ^= x >>> 15;
            long u = x >>> 20;
            out[i] = (float) ((u - 2047.5) / 2048.0 * scale + offset);
        }
        return out;
    }

    /** A checkpoint: every recipe entry ({@code weights}) rebuilt, plus the stored buffers, as one safetensors file. */
    Path checkpoint(String name, JsonObject c, Path buffers, NDManager mm) {
        Map<String, NDArray> sd = new LinkedHashMap<>(SafeTensors.readAll(buffers, mm));
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("weights").entrySet()) {
            JsonArray r = e.getValue().getAsJsonArray();
            JsonArray dims = r.get(0).getAsJsonArray();
            long[] shape = new long[dims.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i).getAsLong();
                numel *= shape[i];
            }
            assertEquals(r.get(1).getAsLong(), e.getKey().hashCode() & 0x7FFFFFFFL, "seed of " + e.getKey());
            sd.put(e.getKey(), Tensors.create(mm, hashedWeights(r.get(1).getAsLong(), (int) numel, r.get(2).getAsDouble(),
                    r.get(3).getAsDouble()), new Shape(shape)));
        }
        Path file = tmp.resolve(name + ".safetensors");
        SafeTensors.write(file, sd, Map.of());
        return file;
    }

    static GenerationOptions options(JsonObject c) {
        return GenerationOptions.defaults().withSteps(c.get("steps").getAsInt())
                .withGuidanceScale(c.get("scale").getAsDouble()).withSampler(c.get("sampler").getAsString())
                .withSize(c.get("width").getAsInt(), c.get("height").getAsInt()).withSeed(c.get("seed").getAsLong())
                .withN(c.get("n").getAsInt()).withEta(c.has("eta") ? c.get("eta").getAsDouble() : 0.0);
    }

    static void checkTokens(TextTokenizer tok, String text, int n, NDArray expected, String what) {
        int[][] rows = tok.encode(Collections.nCopies(n, text));
        long[] flat = expected.toLongArray();
        int l = (int) expected.getShape().get(1);
        for (int i = 0; i < n; i++) {
            long[] row = new long[rows[i].length];
            for (int j = 0; j < row.length; j++) {
                row[j] = rows[i][j];
            }
            long[] exp = new long[l];
            System.arraycopy(flat, i * l, exp, 0, l);
            assertArrayEquals(exp, row, what + " row " + i);
        }
    }

    /** The latent tolerance of a case: {@link #LATENTS_PER_MAX} with its atol scaled by the largest |latent|. */
    static Tolerance latents(NDArray expected) {
        return new Tolerance(LATENTS_PER_MAX.rtol(), LATENTS_PER_MAX.atol() * maxAbs(expected));
    }

    /** Every element within {@code tol} over the full tensor (the worst index named); returns the worst error. */
    static double check(String what, NDArray actual, NDArray expected, Tolerance tol) {
        assertEquals(expected.getShape(), actual.getShape(), what + " shape");
        float[] a = actual.toType(DataType.FLOAT32, false).toFloatArray();
        float[] e = expected.toType(DataType.FLOAT32, false).toFloatArray();
        double worst = 0;
        int worstAt = -1;
        double worstExcess = Double.NEGATIVE_INFINITY;
        int failAt = -1;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - e[i]);
            assertTrue(Double.isFinite(a[i]), what + ": non-finite at " + i);
            if (d > worst) {
                worst = d;
                worstAt = i;
            }
            double excess = tol.accepts(a[i], e[i]) ? -1 : d - (tol.atol() + tol.rtol() * Math.abs(e[i]));
            if (excess > worstExcess) {
                worstExcess = excess;
                failAt = i;
            }
        }
        System.out.printf(Locale.ROOT, "txt2img golden %-22s max|err| %.3e at %d (atol %.1e, rtol %.1e)%n", what, worst,
                worstAt, tol.atol(), tol.rtol());
        int f = failAt;
        assertTrue(worstExcess <= 0, () -> String.format(Locale.ROOT, "%s: |%s - %s| = %.3e exceeds %.1e + %.1e * |e| at flat"
                + " index %d", what, a[f], e[f], Math.abs((double) a[f] - e[f]), tol.atol(), tol.rtol(), f));
        return worst;
    }

    static double maxAbs(NDArray x) {
        double mx = 0;
        for (float v : x.toType(DataType.FLOAT32, false).toFloatArray()) {
            mx = Math.max(mx, Math.abs(v));
        }
        return mx;
    }

    /** Every variant run of the case (other samplers, a non-square size, other seeds, img2img): latents and images. */
    static void checkVariants(SamplingPipeline p, SamplingPipeline refiner, JsonObject c, Map<String, NDArray> io,
            String negative, NDManager mm) {
        String prompt = c.get("prompt").getAsString();
        for (JsonElement e : c.getAsJsonArray("variants")) {
            JsonObject v = e.getAsJsonObject();
            String name = v.get("name").getAsString();
            GenerationOptions o = options(v).withManager(mm);
            if (v.has("refiner")) {
                o = o.withRefiner(refiner, 1.0); // the API's refiner() applies no strength
            }
            SamplingPipeline.Generation g = v.has("img2img")
                    ? p.img2imgWithLatents(io.get("input.init"), prompt, negative, o.withStrength(v.get("strength").getAsDouble()))
                    : p.txt2imgWithLatents(prompt, negative, o);
            NDArray z = io.get("variant." + name + ".latents");
            check(name + " latents", g.latents(), z, latents(z));
            check(name + " images", unit(g.images()), io.get("variant." + name + ".images"), IMAGES);
        }
    }

    /** The pipeline's images in [-1, 1] as the reference's clamp((x + 1) / 2, 0, 1). */
    static NDArray unit(NDArray images) {
        return F.div(F.add(images, 1.0), 2.0);
    }

    @Test
    void sgmTextToImageMatchesTheApi() {
        JsonObject c = meta.getAsJsonObject("sgm");
        try (NDManager mm = m.newSubManager()) {
            Map<String, NDArray> io = SafeTensors.readAll(DIR.resolve("sgm/io.safetensors"), mm);
            String prompt = c.get("prompt").getAsString();
            String negative = c.get("negative_prompt").getAsString();
            int n = c.get("n").getAsInt();
            checkTokens(Tokenizers.hfClip(), prompt, n, io.get("tokens.clip.c"), "HF CLIP tokens of the prompt");
            checkTokens(Tokenizers.openClip(), prompt, n, io.get("tokens.openclip.c"), "open_clip tokens of the prompt");
            checkTokens(Tokenizers.hfClip(), negative, n, io.get("tokens.clip.uc"), "HF CLIP tokens of the negative");
            checkTokens(Tokenizers.openClip(), negative, n, io.get("tokens.openclip.uc"), "open_clip tokens of the negative");

            SamplingPipeline p = SamplingPipeline.fromConfig(EngineLoader.config(DIR.resolve(c.get("config").getAsString())),
                    checkpoint("sgm", c, DIR.resolve("sgm/buffers.safetensors"), mm), mm);
            assertEquals(ModelFamily.SDXL_BASE, p.family());
            GenerationOptions o = options(c).withManager(mm);

            NDArray noise = io.get("noise.0");
            NDArray seeded = NoiseSource.seeded(o.seed()).randn(mm, noise.getShape());
            check("noise (seeded)", seeded, noise, NOISE);

            GeneralConditioner.CondPair cu = p.txt2imgConditioning(prompt, negative, o);
            for (String side : List.of("c", "uc")) {
                Map<String, NDArray> got = side.equals("c") ? cu.c() : cu.uc();
                for (String key : List.of("crossattn", "vector")) {
                    check("sgm " + side + "." + key, got.get(key), io.get(side + "." + key), COND);
                }
                assertEquals(2, got.size(), side + " keys " + got.keySet());
            }

            SamplingPipeline.Generation g = p.txt2imgWithLatents(prompt, negative, o);
            NDArray z = io.get("output.latents");
            check("sgm latents", g.latents(), z, latents(z));
            check("sgm images", unit(g.images()), io.get("output.images"), IMAGES);
            JsonObject rc = c.getAsJsonObject("refiner");
            SamplingPipeline refiner = SamplingPipeline.fromConfig(EngineLoader.config(DIR.resolve(rc.get("config").getAsString())),
                    checkpoint("sgm-refiner", rc, DIR.resolve("sgm/refiner_buffers.safetensors"), mm), mm);
            assertEquals(ModelFamily.SDXL_REFINER, refiner.family());
            checkVariants(p, refiner, c, io, negative, mm);
        }
    }

    @Test
    void sd2TextToImageEmbedsTheNegativePromptAsTheApi() {
        JsonObject c = meta.getAsJsonObject("sd2");
        try (NDManager mm = m.newSubManager()) {
            Map<String, NDArray> io = SafeTensors.readAll(DIR.resolve("sd2/io.safetensors"), mm);
            String prompt = c.get("prompt").getAsString();
            String negative = c.get("negative_prompt").getAsString();
            int n = c.get("n").getAsInt();
            checkTokens(Tokenizers.openClip(), prompt, n, io.get("tokens.openclip.c"), "open_clip tokens of the prompt");
            checkTokens(Tokenizers.openClip(), negative, n, io.get("tokens.openclip.uc"), "open_clip tokens of the negative");

            SamplingPipeline p = SamplingPipeline.fromConfig(EngineLoader.config(DIR.resolve(c.get("config").getAsString())),
                    checkpoint("sd2", c, DIR.resolve("sd2/buffers.safetensors"), mm), mm);
            assertEquals(ModelFamily.SD2, p.family());
            GenerationOptions o = options(c).withManager(mm);
            check("sd2 noise (seeded)", NoiseSource.seeded(o.seed()).randn(mm, io.get("noise.0").getShape()),
                    io.get("noise.0"), NOISE);
            GeneralConditioner.CondPair cu = p.txt2imgConditioning(prompt, negative, o);
            check("sd2 c.crossattn", cu.c().get("crossattn"), io.get("c.crossattn"), COND);
            check("sd2 uc.crossattn", cu.uc().get("crossattn"), io.get("uc.crossattn"), COND);
            assertEquals(1, cu.c().size(), "c keys " + cu.c().keySet());

            SamplingPipeline.Generation g = p.txt2imgWithLatents(prompt, negative, o);
            NDArray z = io.get("output.latents");
            check("sd2 latents", g.latents(), z, latents(z));
            check("sd2 images", unit(g.images()), io.get("output.images"), IMAGES);
        }
    }

    @Test
    void ldmTextToImageMatchesTxt2imgPy() {
        JsonObject c = meta.getAsJsonObject("ldm");
        try (NDManager mm = m.newSubManager()) {
            Map<String, NDArray> io = SafeTensors.readAll(DIR.resolve("ldm/io.safetensors"), mm);
            String prompt = c.get("prompt").getAsString();
            int n = c.get("n").getAsInt();
            checkTokens(Tokenizers.hfClip(), prompt, n, io.get("tokens.clip.c"), "HF CLIP tokens of the prompt");
            checkTokens(Tokenizers.hfClip(), "", n, io.get("tokens.clip.uc"), "HF CLIP tokens of \"\"");

            SamplingPipeline p = SamplingPipeline.fromConfig(EngineLoader.config(DIR.resolve(c.get("config").getAsString())),
                    checkpoint("ldm", c, DIR.resolve("ldm/buffers.safetensors"), mm), mm);
            assertEquals(ModelFamily.SD1, p.family());
            GenerationOptions o = options(c).withManager(mm);

            NDArray noise = io.get("noise.0");
            NDArray seeded = NoiseSource.seeded(o.seed()).randn(mm, noise.getShape());
            check("noise (seeded x_T)", seeded, noise, NOISE);

            check("ldm c", p.ldm().getLearnedConditioning(Collections.nCopies(n, prompt)), io.get("c.crossattn"),
                    COND);
            check("ldm uc", p.ldm().getLearnedConditioning(Collections.nCopies(n, "")), io.get("uc.crossattn"),
                    COND);

            SamplingPipeline.Generation g = p.txt2imgWithLatents(prompt, "", o);
            NDArray z = io.get("output.latents");
            check("ldm latents", g.latents(), z, latents(z));
            check("ldm images", unit(g.images()), io.get("output.images"), IMAGES);
            checkVariants(p, null, c, io, "", mm);
        }
    }
}
