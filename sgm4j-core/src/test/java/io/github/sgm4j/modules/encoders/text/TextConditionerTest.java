package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A {@link GeneralConditioner} over two tiny text embedders on one {@code txt} key, SDXL-style (CLIP
 * hidden layer; OpenCLIP penultimate + pooled): routing of the tuple output, the per-embedding ucg
 * draws, {@code legacy_ucg_value} prompt replacement and {@code force_zero_embeddings}.
 */
class TextConditionerTest {

    static NDManager m;

    @BeforeAll
    static void load() throws IOException {
        TextEncoderParityTest.load();
        m = TextEncoderParityTest.m;
    }

    @AfterAll
    static void close() {
        TextEncoderParityTest.close();
    }

    /** Records the prompts it is given and returns fixed rows. */
    static final class RecordingTokenizer implements TextTokenizer {
        final int[][] rows;
        final List<List<String>> seen = new ArrayList<>();

        RecordingTokenizer(int[][] rows) {
            this.rows = rows;
        }

        @Override
        public int[][] encode(List<String> texts) {
            seen.add(List.copyOf(texts));
            return rows;
        }

        @Override
        public int contextLength() {
            return rows[0].length;
        }
    }

    static JsonObject caseNamed(String name) {
        for (var el : TextEncoderParityTest.meta.getAsJsonArray("cases")) {
            if (el.getAsJsonObject().get("name").getAsString().equals(name)) {
                return el.getAsJsonObject();
            }
        }
        throw new AssertionError("no case " + name);
    }

    static AbstractTextEmbedder embedder(String caseName, RecordingTokenizer tok, NDManager sub) {
        AbstractTextEmbedder e = TextEncoderParityTest.build(caseNamed(caseName), tok);
        e.attach(sub);
        Map<String, NDArray> w = new LinkedHashMap<>();
        (e instanceof FrozenCLIPEmbedder ? TextEncoderParityTest.weightsClip : TextEncoderParityTest.weightsOpenClip)
                .forEach((k, v) -> w.put(k, v.duplicate()));
        e.loadStateDict(w, true);
        e.setInputKey("txt");
        return e;
    }

    static NDArray io(String key) {
        return TextEncoderParityTest.io.get(key);
    }

    @Test
    void sdxlStyleRoutingUcgAndLegacyReplacement() {
        try (NDManager sub = m.newSubManager()) {
            RecordingTokenizer hf = new RecordingTokenizer(TextEncoderParityTest.rows(io("input.ids_hf")));
            RecordingTokenizer oc = new RecordingTokenizer(TextEncoderParityTest.rows(io("input.ids_openclip")));
            AbstractTextEmbedder clip = embedder("clip_hidden1_pooled", hf, sub);
            AbstractTextEmbedder big = embedder("openclip2_penultimate_pooled", oc, sub);
            GeneralConditioner c = new GeneralConditioner(List.<AbstractEmbModel>of(clip, big));
            List<String> prompts = List.of("a cat", "a dog", "a fox");
            Map<String, Object> batch = Map.of("txt", prompts);

            // no ucg: crossattn = cat(clip context, bigG penultimate) on dim 2, vector = cat(clip pooled, bigG pooled)
            Map<String, NDArray> out = c.forward(batch, null);
            try (NDArray ctx = NDArrays.concat(new NDList(io("output.clip_hidden1_pooled.0"),
                            io("output.openclip2_penultimate_pooled.0")), 2);
                    NDArray vec = NDArrays.concat(new NDList(io("output.clip_hidden1_pooled.1"),
                            io("output.openclip2_penultimate_pooled.1")), 1)) {
                TextEncoderParityTest.compare("crossattn", ctx, out.get("crossattn"));
                TextEncoderParityTest.compare("vector", vec, out.get("vector"));
            }
            assertEquals(List.of(prompts), hf.seen);

            // ucg on the bigG embedder: one bernoulli(1 - rate) draw per output (context, then pooled)
            big.setUcgRate(0.5);
            ReplayNoiseSource noise = new ReplayNoiseSource("ucg", List.of(
                    new ReplayNoiseSource.Draw("bernoulli", Tensors.create(sub, new float[] {1, 0, 1})),
                    new ReplayNoiseSource.Draw("bernoulli", Tensors.create(sub, new float[] {0, 1, 1}))));
            Map<String, NDArray> dropped = c.forward(batch, noise);
            noise.assertExhausted();
            float[] ca = dropped.get("crossattn").get(":, :, 16:").toFloatArray();
            float[] ce = out.get("crossattn").get(":, :, 16:").toFloatArray();
            int per = 77 * 16; // width 16 per tower
            for (int i = 0; i < ca.length; i++) {
                int row = i / per;
                assertEquals(row == 1 ? 0f : ce[i], ca[i], 0f, "context row " + row);
            }
            float[] va = dropped.get("vector").get(":, 16:").toFloatArray();
            float[] ve = out.get("vector").get(":, 16:").toFloatArray();
            for (int i = 0; i < va.length; i++) {
                assertEquals(i / 12 == 0 ? 0f : ve[i], va[i], 0f, "pooled row " + i / 12);
            }
            big.setUcgRate(0.0);

            // legacy_ucg_value on the CLIP embedder: prompts replaced where bernoulli(rate) is 1; the
            // replaced list is what the next embedder of the key sees; the caller's batch is untouched
            clip.setUcgRate(0.5);
            clip.setLegacyUcgValue("");
            ReplayNoiseSource legacy = new ReplayNoiseSource("legacy", List.of(
                    new ReplayNoiseSource.Draw("bernoulli", Tensors.create(sub, new float[] {0, 1, 0}))));
            c.forward(batch, legacy).values().forEach(NDArray::close);
            legacy.assertExhausted();
            assertEquals(List.of("a cat", "", "a fox"), hf.seen.get(hf.seen.size() - 1));
            assertEquals(List.of("a cat", "", "a fox"), oc.seen.get(oc.seen.size() - 1));
            assertEquals(List.of("a cat", "a dog", "a fox"), batch.get("txt"));

            // get_unconditional_conditioning: no draws, force_uc_zero_embeddings zeroes both outputs
            GeneralConditioner.CondPair cu = c.getUnconditionalConditioning(batch, Map.of("txt", List.of("", "", "")),
                    List.of("txt"), null);
            assertEquals(new Shape(3, 77, 32), cu.uc().get("crossattn").getShape());
            assertTrue(cu.uc().get("crossattn").abs().max().getFloat() == 0f);
            assertTrue(cu.uc().get("vector").abs().max().getFloat() == 0f);
            TextEncoderParityTest.compare("c crossattn", out.get("crossattn"), cu.c().get("crossattn"));
            clip.setUcgRate(0.0);
            clip.setLegacyUcgValue(null);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.forward(Map.of("txt", List.of(1, 2, 3)), null));
            assertTrue(e.getMessage().contains("prompts must be strings"), e.getMessage());
        }
    }
}
