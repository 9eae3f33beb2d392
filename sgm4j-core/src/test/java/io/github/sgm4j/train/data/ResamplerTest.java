package io.github.sgm4j.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link Resampler} against {@code torch.nn.functional.interpolate(mode="bicubic", antialias=True)}
 * of torch 1.13 ({@code src/test/resources/golden-extra/data/gen_resize.py}).
 */
class ResamplerTest {

    /** float32 accumulation in a different order than torch's kernel. */
    private static final double ATOL = 2e-6;
    private static final double RTOL = 1e-5;

    @Test
    void matchesTorchAntialiasedBicubic() throws Exception {
        JsonObject golden = JsonParser.parseString(
                Files.readString(Path.of("src/test/resources/golden-extra/data/resize.json"))).getAsJsonObject();
        JsonArray cases = golden.getAsJsonArray("cases");
        assertEquals(5, cases.size());
        double worst = 0;
        for (JsonElement e : cases) {
            JsonObject c = e.getAsJsonObject();
            JsonArray in = c.getAsJsonArray("in_shape");
            JsonArray out = c.getAsJsonArray("out_shape");
            float[] x = floats(c.getAsJsonArray("input"));
            float[] want = floats(c.getAsJsonArray("output"));
            float[] got = Resampler.resize(x, in.get(0).getAsInt(), in.get(1).getAsInt(), in.get(2).getAsInt(),
                    out.get(0).getAsInt(), out.get(1).getAsInt());
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++) {
                double err = Math.abs(got[i] - want[i]);
                worst = Math.max(worst, err);
                assertTrue(err <= ATOL + RTOL * Math.abs(want[i]), "case " + in + " -> " + out + " index " + i + ": "
                        + got[i] + " vs torch " + want[i]);
            }
        }
        System.out.println("Resampler vs torch interpolate(bicubic, antialias): worst abs error " + worst);
    }

    @Test
    void sameSizeIsTheInput() {
        float[] x = {1, 2, 3, 4, 5, 6};
        assertSame(x, Resampler.resize(x, 1, 2, 3, 2, 3));
    }

    private static float[] floats(JsonArray a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = a.get(i).getAsFloat();
        }
        return f;
    }
}
