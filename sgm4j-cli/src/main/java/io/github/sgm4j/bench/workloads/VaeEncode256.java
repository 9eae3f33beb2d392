package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** {@code vae-encode-256}: AutoencoderKL posterior moments of a (1, 3, 256, 256) image. */
public class VaeEncode256 extends VaeWorkload {

    private NDArray x;

    @Override
    public String name() {
        return "vae-encode-256";
    }

    @Override
    public void setUp(NDManager manager) {
        super.setUp(manager);
        x = noise.randn(manager, new Shape(1, 3, 256, 256));
    }

    @Override
    public void runOnce() {
        vae.moments(x).close();
    }

    @Override
    public double flops() {
        return 273e9;
    }
}
