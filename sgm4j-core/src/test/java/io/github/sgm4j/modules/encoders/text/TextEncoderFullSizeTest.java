package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Full-size SDXL text encoders (CLIP ViT-L/14 hidden layer 11, OpenCLIP ViT-bigG-14 penultimate +
 * pooled) with random weights on one prompt: output shapes, finiteness and the forward time
 * (printed). About 3.3 GB of fp32 weights.
 */
@Tag("slow")
class TextEncoderFullSizeTest {

    static NDArray ids(NDManager m, int pad) {
        long[] row = new long[77];
        row[0] = 49406;
        for (int i = 1; i < 8; i++) {
            row[i] = 320 + 37L * i;
        }
        row[8] = 49407;
        for (int i = 9; i < 77; i++) {
            row[i] = pad;
        }
        return Tensors.create(m, row, new Shape(1, 77));
    }

    @Test
    void sdxlTextEncodersOnOnePrompt() {
        try (NDManager m = NDManager.newBaseManager();
                GradMode ignored = GradMode.disabled()) {
            TextTokenizer none = Tokenizers.lazy(Tokenizers::hfClip, 77);
            FrozenCLIPEmbedder clip = new FrozenCLIPEmbedder(FrozenCLIPEmbedder.VERSIONS.get(
                    "openai/clip-vit-large-patch14"), none, new FrozenCLIPEmbedder.Params(
                    "openai/clip-vit-large-patch14", 77, true, "hidden", 11, false));
            FrozenOpenCLIPEmbedder2 big = new FrozenOpenCLIPEmbedder2(FrozenOpenCLIPEmbedder2.ARCHS.get("ViT-bigG-14"),
                    none, new FrozenOpenCLIPEmbedder2.Params("ViT-bigG-14", "laion2b_s39b_b160k", 77, true,
                            "penultimate", true, false));
            clip.initialize(m, NoiseSource.seeded(0));
            big.initialize(m, NoiseSource.seeded(1));
            for (int rep = 0; rep < 2; rep++) {
                long t0 = System.nanoTime();
                List<NDArray> a = clip.encodeTokens(ids(m, 49407));
                long t1 = System.nanoTime();
                List<NDArray> b = big.encodeTokens(ids(m, 0));
                long t2 = System.nanoTime();
                System.out.printf("[text-encoders] CLIP ViT-L/14 %.0f ms, OpenCLIP ViT-bigG-14 %.0f ms (1 prompt)%n",
                        (t1 - t0) / 1e6, (t2 - t1) / 1e6);
                assertEquals(new Shape(1, 77, 768), a.get(0).getShape());
                assertEquals(new Shape(1, 77, 1280), b.get(0).getShape());
                assertEquals(new Shape(1, 1280), b.get(1).getShape());
                for (NDArray x : List.of(a.get(0), b.get(0), b.get(1))) {
                    assertTrue(x.isInfinite().any().getBoolean() == false && x.isNaN().any().getBoolean() == false);
                }
                a.forEach(NDArray::close);
                b.forEach(NDArray::close);
            }
        }
    }
}
