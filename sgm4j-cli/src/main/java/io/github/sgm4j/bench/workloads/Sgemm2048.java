package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.noise.NoiseSource;

/** {@code sgemm-2048}: one 2048x2048x2048 fp32 matmul, the machine's practical ceiling. */
public class Sgemm2048 implements Workload {

    private NDArray a;
    private NDArray b;

    @Override
    public String name() {
        return "sgemm-2048";
    }

    @Override
    public void setUp(NDManager manager) {
        NoiseSource ns = NoiseSource.seeded(0);
        a = ns.randn(manager, new Shape(2048, 2048));
        b = ns.randn(manager, new Shape(2048, 2048));
    }

    @Override
    public void runOnce() {
        a.matMul(b).close();
    }

    @Override
    public double flops() {
        return 2.0 * 2048 * 2048 * 2048;
    }

    @Override
    public int runs() {
        return 10;
    }
}
