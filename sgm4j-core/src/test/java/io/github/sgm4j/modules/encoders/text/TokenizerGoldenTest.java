package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Token ids of both CLIP tokenizers against the reference (HF slow CLIPTokenizer and open_clip's
 * tokenize, ftfy installed), recorded by {@code golden-extra/tokenizers/gen_tokenizer_ids.py}.
 * Every row is compared exactly; mismatches are all listed.
 */
class TokenizerGoldenTest {

    private static final Path IDS = Path.of("src/test/resources/golden-extra/tokenizers/ids.json");

    private static JsonArray cases;
    private static ClipTokenizer hf;
    private static OpenClipTokenizer openClip;

    @BeforeAll
    static void load() throws IOException {
        JsonObject root = JsonParser.parseString(Files.readString(IDS, StandardCharsets.UTF_8)).getAsJsonObject();
        cases = root.getAsJsonArray("cases");
        hf = new ClipTokenizer();
        openClip = new OpenClipTokenizer();
    }

    private static int[] ints(JsonElement e) {
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static String show(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(60).forEach(cp -> {
            if (cp < 0x20 || cp > 0x7E) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.toString();
    }

    @Test
    void textFixerMatchesFtfy() {
        List<String> bad = new ArrayList<>();
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            String expected = c.get("fix_text").getAsString();
            String actual = TextFixer.fixText(prompt);
            if (!expected.equals(actual)) {
                bad.add(show(prompt) + ": expected [" + show(expected) + "] got [" + show(actual) + "]");
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " fix_text mismatches:\n" + String.join("\n", bad));
    }

    @Test
    void hfClipTokenizerMatchesReference() {
        List<String> bad = new ArrayList<>();
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            int[] expected = ints(c.get("hf"));
            int[] actual = hf.encode(List.of(prompt))[0];
            int len = hf.untruncatedLength(prompt);
            if (!Arrays.equals(expected, actual) || len != c.get("hf_length").getAsInt()) {
                bad.add(show(prompt) + ":\n  expected " + Arrays.toString(expected) + " len "
                        + c.get("hf_length") + "\n  actual   " + Arrays.toString(actual) + " len " + len);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + cases.size() + " rows differ:\n" + String.join("\n", bad));
    }

    @Test
    void openClipTokenizerMatchesReference() {
        List<String> bad = new ArrayList<>();
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            int[] expected = ints(c.get("open_clip"));
            int[] actual = openClip.encode(List.of(prompt))[0];
            int len = openClip.untruncatedLength(prompt);
            if (!Arrays.equals(expected, actual) || len != c.get("open_clip_length").getAsInt()) {
                bad.add(show(prompt) + ":\n  expected " + Arrays.toString(expected) + " len "
                        + c.get("open_clip_length") + "\n  actual   " + Arrays.toString(actual) + " len " + len);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + cases.size() + " rows differ:\n" + String.join("\n", bad));
    }

    @Test
    void batchEncodingKeepsOrderAndLength() {
        int[][] rows = hf.encode(List.of("a cat", "", "a dog"));
        assertEquals(3, rows.length);
        for (int[] r : rows) {
            assertEquals(77, r.length);
        }
        assertArrayEquals(hf.encodeRow("a dog"), rows[2]);
        assertEquals(49406, rows[1][0]);
        assertEquals(49407, rows[1][1]);
        assertEquals(0, openClip.encodeRow("")[2]);
    }
}
