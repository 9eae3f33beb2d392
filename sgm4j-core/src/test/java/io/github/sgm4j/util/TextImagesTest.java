package io.github.sgm4j.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Captions as images (sgm's log_txt_as_img): layout rules exactly, pixels by their properties. */
class TextImagesTest {

    @Test
    void wrapsLikeTheReference() {
        assertEquals(40, TextImages.charsPerLine(256));
        assertEquals(4, TextImages.charsPerLine(28));
        assertEquals(List.of("0123", "4567", "89"), TextImages.wrap("0123456789", 28));
        assertEquals(List.of(""), TextImages.wrap("", 28));
    }

    @Test
    void blackTextOnWhite() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray img = TextImages.render(m, 28, 28, List.of("", "1", "7", "7"), 7);
            assertEquals(new Shape(4, 3, 28, 28), img.getShape());
            float[] v = img.toFloatArray();
            int plane = 3 * 28 * 28;
            // an empty caption is the white canvas: every value exactly +1
            for (int i = 0; i < plane; i++) {
                assertEquals(1f, v[i], 0f, "blank caption pixel " + i);
            }
            float[] one = Arrays.copyOfRange(v, plane, 2 * plane);
            float[] seven = Arrays.copyOfRange(v, 2 * plane, 3 * plane);
            float[] sevenAgain = Arrays.copyOfRange(v, 3 * plane, 4 * plane);
            // rendering is deterministic, captions differ, text is dark, grey (R = G = B) and in [-1, 1]
            assertTrue(Arrays.equals(seven, sevenAgain));
            assertFalse(Arrays.equals(one, seven));
            int dark = 0;
            for (int i = 0; i < 28 * 28; i++) {
                assertEquals(seven[i], seven[784 + i], 0f);
                assertEquals(seven[i], seven[2 * 784 + i], 0f);
                assertTrue(seven[i] >= -1f && seven[i] <= 1f);
                if (seven[i] < 0f) {
                    dark++;
                    // the caption sits in the top-left corner, one 7-pixel line high
                    assertTrue(i / 28 < 10 && i % 28 < 10, "dark pixel outside the first line at " + i);
                }
            }
            assertTrue(dark > 0, "the glyph left no dark pixel");
        }
    }

    @Test
    void badSizesAreRejected() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IllegalArgumentException.class, () -> TextImages.render(m, 0, 28, List.of("1"), 7));
            assertThrows(IllegalArgumentException.class, () -> TextImages.render(m, 28, 28, List.of(), 7));
        }
    }
}
