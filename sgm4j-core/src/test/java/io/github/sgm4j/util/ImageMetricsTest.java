package io.github.sgm4j.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** PSNR and SSIM against values computed with scipy ({@code golden-extra/metrics/gen_ssim.py}). */
class ImageMetricsTest {

    /** Both sides compute in double precision from the same float32 inputs. */
    static final double METRIC_TOL = 1e-9;

    static float[] floats(JsonArray a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsFloat();
        }
        return out;
    }

    @Test
    void matchesScipyReference() throws Exception {
        JsonArray cases = JsonParser.parseString(
                Files.readString(Path.of("src/test/resources/golden-extra/metrics/ssim_cases.json"))).getAsJsonArray();
        assertEquals(4, cases.size());
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            float[] a = floats(c.getAsJsonArray("a"));
            float[] b = floats(c.getAsJsonArray("b"));
            int ch = c.get("c").getAsInt();
            int h = c.get("h").getAsInt();
            int w = c.get("w").getAsInt();
            assertEquals(c.get("ssim").getAsDouble(), ImageMetrics.ssim(a, b, ch, h, w), METRIC_TOL, "ssim " + ch + "x" + h + "x" + w);
            assertEquals(c.get("psnr").getAsDouble(), ImageMetrics.psnr(a, b), METRIC_TOL, "psnr");
        }
    }

    @Test
    void identicalImagesAndBadSizes() {
        float[] a = new float[1 * 12 * 12];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) / 7f;
        }
        assertEquals(1.0, ImageMetrics.ssim(a, a, 1, 12, 12), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, ImageMetrics.psnr(a, a));
        assertThrows(IllegalArgumentException.class, () -> ImageMetrics.ssim(a, a, 1, 10, 14));
        assertThrows(IllegalArgumentException.class, () -> ImageMetrics.psnr(a, new float[3]));
    }
}
