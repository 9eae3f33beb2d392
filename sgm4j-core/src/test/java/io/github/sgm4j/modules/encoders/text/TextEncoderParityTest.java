package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.nn.LoadResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * sgm's text embedders at tiny widths against {@code golden-extra/text_encoders} (made by {@code
 * gen_text_encoders.py} from sgm's classes): every output of every case over the full tensor, from
 * the recorded token ids, once through {@code encodeTokens} and once through {@code embed} with
 * prompts (a tokenizer that returns the recorded ids).
 */
class TextEncoderParityTest {

    /**
     * Tiny (width 16, 3 blocks) fp32 towers, torch 1.13 (nn.MultiheadAttention, q divided by
     * sqrt(d)) vs libtorch 2.7.1 (q multiplied by d^-0.5 for HF): rounding-level differences,
     * bounded by 1e-5 absolute plus 1e-5 relative on outputs of order 1.
     */
    static final double TEXT_RTOL = 1e-5;

    /** Absolute part of the bound (see {@link #TEXT_RTOL}). */
    static final double TEXT_ATOL = 1e-5;

    static final Path DIR = Path.of("src/test/resources/golden-extra/text_encoders");

    static NDManager m;
    static JsonObject meta;
    static Map<String, NDArray> io;
    static Map<String, NDArray> weightsClip;
    static Map<String, NDArray> weightsOpenClip;

    @BeforeAll
    static void load() throws IOException {
        m = NDManager.newBaseManager();
        meta = JsonParser.parseString(Files.readString(DIR.resolve("cases.json"))).getAsJsonObject();
        io = SafeTensors.readAll(DIR.resolve("io.safetensors"), m);
        weightsClip = prefixed(SafeTensors.readAll(DIR.resolve("weights_clip.safetensors"), m), "transformer.");
        weightsOpenClip = prefixed(SafeTensors.readAll(DIR.resolve("weights_openclip.safetensors"), m), "model.");
    }

    @AfterAll
    static void close() {
        m.close();
    }

    static Map<String, NDArray> prefixed(Map<String, NDArray> w, String prefix) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        w.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    /** A tokenizer returning fixed rows (the recorded ids), for the prompt path. */
    record FixedTokenizer(int[][] rows) implements TextTokenizer {
        @Override
        public int[][] encode(List<String> texts) {
            assertEquals(rows.length, texts.size(), "prompt count");
            return rows;
        }

        @Override
        public int contextLength() {
            return rows[0].length;
        }
    }

    static int[][] rows(NDArray ids) {
        long[] flat = ids.toLongArray();
        int b = (int) ids.getShape().get(0);
        int l = (int) ids.getShape().get(1);
        int[][] out = new int[b][l];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < l; j++) {
                out[i][j] = (int) flat[i * l + j];
            }
        }
        return out;
    }

    static AbstractTextEmbedder build(JsonObject c, TextTokenizer tok) {
        String target = c.get("target").getAsString();
        JsonObject p = c.getAsJsonObject("params");
        String layer = p.get("layer").getAsString();
        if (target.endsWith(".FrozenCLIPEmbedder")) {
            JsonObject a = meta.getAsJsonObject("clip_arch");
            ClipTextModel.Arch arch = new ClipTextModel.Arch(a.get("vocab_size").getAsInt(), a.get("width").getAsInt(),
                    a.get("layers").getAsInt(), a.get("heads").getAsInt(), a.get("context_length").getAsInt(),
                    a.get("mlp_width").getAsInt());
            Integer idx = p.has("layer_idx") ? p.get("layer_idx").getAsInt() : null;
            boolean pooled = p.has("always_return_pooled") && p.get("always_return_pooled").getAsBoolean();
            return new FrozenCLIPEmbedder(arch, tok, new FrozenCLIPEmbedder.Params(
                    "openai/clip-vit-large-patch14", 77, true, layer, idx, pooled));
        }
        JsonObject a = meta.getAsJsonObject("openclip_arch");
        OpenClipTextModel.Arch arch = new OpenClipTextModel.Arch(a.get("vocab_size").getAsInt(),
                a.get("width").getAsInt(), a.get("layers").getAsInt(), a.get("heads").getAsInt(),
                a.get("context_length").getAsInt(), a.get("embed_dim").getAsInt());
        String archName = p.get("arch").getAsString();
        String version = p.get("version").getAsString();
        if (target.endsWith(".FrozenOpenCLIPEmbedder")) {
            return new FrozenOpenCLIPEmbedder(arch, tok, new FrozenOpenCLIPEmbedder.Params(archName, version, 77, true,
                    layer));
        }
        boolean pooled = p.has("always_return_pooled") && p.get("always_return_pooled").getAsBoolean();
        boolean legacy = !p.has("legacy") || p.get("legacy").getAsBoolean();
        return new FrozenOpenCLIPEmbedder2(arch, tok, new FrozenOpenCLIPEmbedder2.Params(archName, version, 77, true,
                layer, pooled, legacy));
    }

    static void compare(String what, NDArray expected, NDArray actual) {
        assertEquals(expected.getShape(), actual.getShape(), what + ": shape");
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        int worst = -1;
        double worstExcess = 0;
        double maxAbs = 0;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs((double) a[i] - e[i]);
            maxAbs = Math.max(maxAbs, err);
            double excess = err - (TEXT_ATOL + TEXT_RTOL * Math.abs(e[i]));
            if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Double.isNaN(excess))) {
                worst = i;
                worstExcess = excess;
            }
        }
        System.out.printf("%s: max |err| %.3g over %d values%n", what, maxAbs, e.length);
        if (worst >= 0) {
            throw new AssertionError(what + ": index " + worst + " got " + a[worst] + ", expected " + e[worst]
                    + " (rtol " + TEXT_RTOL + ", atol " + TEXT_ATOL + ")");
        }
    }

    @TestFactory
    Stream<DynamicTest> cases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonElement el : meta.getAsJsonArray("cases")) {
            JsonObject c = el.getAsJsonObject();
            String name = c.get("name").getAsString();
            tests.add(DynamicTest.dynamicTest(name, () -> runCase(c)));
        }
        return tests.stream();
    }

    static void runCase(JsonObject c) {
        String name = c.get("name").getAsString();
        NDArray ids = io.get(c.get("input").getAsString());
        AbstractTextEmbedder e = build(c, new FixedTokenizer(rows(ids)));
        boolean clip = e instanceof FrozenCLIPEmbedder;
        try (NDManager sub = m.newSubManager()) {
            e.attach(sub);
            Map<String, NDArray> w = new LinkedHashMap<>();
            (clip ? weightsClip : weightsOpenClip).forEach((k, v) -> w.put(k, v.duplicate()));
            LoadResult r = e.loadStateDict(w, true);
            assertTrue(r.missingKeys().isEmpty() && r.unexpectedKeys().isEmpty() && r.shapeMismatches().isEmpty(), name + ": " + r);
            JsonArray outs = c.getAsJsonArray("outputs");
            List<NDArray> byIds = e.encodeTokens(ids);
            List<String> prompts = new ArrayList<>();
            for (int i = 0; i < ids.getShape().get(0); i++) {
                prompts.add("prompt " + i);
            }
            List<NDArray> byText = e.embed(List.of(prompts));
            assertEquals(outs.size(), byIds.size(), name + ": number of outputs");
            assertEquals(outs.size(), byText.size(), name + ": number of outputs (prompts)");
            for (int i = 0; i < outs.size(); i++) {
                NDArray expected = io.get(outs.get(i).getAsString());
                compare(name + "." + i, expected, byIds.get(i));
                compare(name + "." + i + " (prompts)", expected, byText.get(i));
            }
            byIds.forEach(NDArray::close);
            byText.forEach(NDArray::close);
        }
    }
}
