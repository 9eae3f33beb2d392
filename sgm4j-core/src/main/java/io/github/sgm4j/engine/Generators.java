package io.github.sgm4j.engine;

import ai.djl.pytorch.jni.JniUtils;

/**
 * libtorch's default random generator. Only {@link io.github.sgm4j.noise.TorchNoiseSource} seeds
 * it (under its lock, keeping each noise source's stream its own); user code seeds through {@link
 * io.github.sgm4j.nn.F#manualSeed}.
 */
public final class Generators {

    private Generators() {}

    /**
     * Seeds libtorch's default CPU (and CUDA) generator, like {@code torch.manual_seed(seed)},
     * without telling the noise sources.
     *
     * @param seed the seed
     */
    public static void seedDefault(long seed) {
        JniUtils.setSeed(seed);
    }
}
