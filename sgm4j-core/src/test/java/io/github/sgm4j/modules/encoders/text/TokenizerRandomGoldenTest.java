package io.github.sgm4j.modules.encoders.text;

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
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Seeded random prompts (mixtures of words, scripts, emoji, whitespace, control characters, HTML
 * references, special-token texts and mojibake) through both CLIP tokenizers, against the
 * reference's untruncated ids and ftfy's {@code fix_text}, recorded by {@code
 * golden-extra/tokenizers/gen_tokenizer_ids.py}. Another file can be checked with {@code
 * -Dsgm4j.tokenizerCases=PATH}.
 */
class TokenizerRandomGoldenTest {

    private static final Path DEFAULT = Path.of("src/test/resources/golden-extra/tokenizers/ids_random.json");

    private static JsonArray cases;
    private static final ClipTokenizer HF = new ClipTokenizer();
    private static final OpenClipTokenizer OPEN_CLIP = new OpenClipTokenizer();

    @BeforeAll
    static void load() throws IOException {
        String override = System.getProperty("sgm4j.tokenizerCases");
        Path path = override == null ? DEFAULT : Path.of(override);
        cases = JsonParser.parseString(Files.readString(path, StandardCharsets.UTF_8))
                .getAsJsonObject()
                .getAsJsonArray("cases");
    }

    private static List<Integer> ints(JsonElement e) {
        List<Integer> out = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            out.add(x.getAsInt());
        }
        return out;
    }

    private static String show(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(80).forEach(cp -> {
            if (cp < 0x20 || cp > 0x7E) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.toString();
    }

    private static void report(List<String> bad, String what) {
        List<String> shown = bad.subList(0, Math.min(bad.size(), 25));
        assertTrue(bad.isEmpty(), bad.size() + " of " + cases.size() + " " + what + " differ:\n"
                + String.join("\n", shown));
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
                int d = 0;
                while (d < expected.length() && d < actual.length() && expected.charAt(d) == actual.charAt(d)) {
                    d++;
                }
                int from = Math.max(0, d - 20);
                bad.add(show(prompt) + "\n   from index " + from + " expected [" + show(expected.substring(from))
                        + "]\n   got      [" + show(actual.substring(Math.min(from, actual.length()))) + "]");
            }
        }
        report(bad, "fix_text results");
    }

    @Test
    void hfTokensMatchReference() {
        List<String> bad = new ArrayList<>();
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            List<Integer> expected = ints(c.get("hf_tokens"));
            List<Integer> actual = HF.tokenize(prompt);
            if (!expected.equals(actual)) {
                bad.add(show(prompt) + "\n   expected " + expected + "\n   got      " + actual);
            }
        }
        report(bad, "HF token lists");
    }

    @Test
    void openClipTokensMatchReference() {
        List<String> bad = new ArrayList<>();
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            List<Integer> expected = ints(c.get("open_clip_tokens"));
            List<Integer> actual = OPEN_CLIP.tokenize(prompt);
            if (!expected.equals(actual)) {
                bad.add(show(prompt) + "\n   expected " + expected + "\n   got      " + actual);
            }
        }
        report(bad, "open_clip token lists");
    }
}
