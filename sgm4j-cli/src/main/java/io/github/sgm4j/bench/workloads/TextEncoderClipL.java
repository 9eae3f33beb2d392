package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.encoders.text.FrozenCLIPEmbedder;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;

/**
 * {@code text-encoder-clip-l}: SD 1.5's text encoder for one prompt, as sgm's {@code
 * FrozenCLIPEmbedder} runs it (default {@code openai/clip-vit-large-patch14}: width 768, 12 layers,
 * 12 heads, 77 tokens; random weights with {@link LowPeakInit}): CLIP BPE tokenization (ftfy-style
 * clean-up included) and the text transformer's forward to the last hidden state (1,77,768). One run
 * is one prompt.
 */
public class TextEncoderClipL implements Workload {

    /** The prompt of every run (the txt2img golden case's). */
    public static final String PROMPT = "a red cube on a wooden table, studio light";

    private FrozenCLIPEmbedder embedder;

    @Override
    public String name() {
        return "text-encoder-clip-l";
    }

    @Override
    public void setUp(NDManager manager) {
        embedder = new Instantiator().instantiate(ConfigNode.parse(
                "target: sgm.modules.encoders.modules.FrozenCLIPEmbedder\n", "text-encoder-clip-l"),
                FrozenCLIPEmbedder.class);
        LowPeakInit.initialize(embedder, manager, NoiseSource.seeded(0));
        embedder.eval();
        embedder.requiresGrad(false);
    }

    @Override
    public void runOnce() {
        boolean grad = F.setGradEnabled(false);
        try {
            for (NDArray a : embedder.embed(List.of(List.of(PROMPT)))) {
                a.close();
            }
        } finally {
            F.setGradEnabled(grad);
        }
    }

    @Override
    public int warmup() {
        return 2;
    }

    @Override
    public int runs() {
        return 10;
    }
}
