package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** {@code vae-decode-256}: AutoencoderKL.decode of z (1, 4, 32, 32) to a 256x256 image. */
public class VaeDecode256 extends VaeWorkload {

    private NDArray z;

    @Override
    public String name() {
        return "vae-decode-256";
    }

    @Override
    public void setUp(NDManager manager) {
        super.setUp(manager);
        z = noise.randn(manager, new Shape(1, 4, 32, 32));
    }

    @Override
    public void runOnce() {
        vae.decode(z).close();
    }

    @Override
    public double flops() {
        return 622e9;
    }
}
