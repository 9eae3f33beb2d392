package io.github.sgm4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.bench.workloads.LowPeakInit;
import io.github.sgm4j.keys.KeyListings;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Memory of a full-size SD 1.5 UNet (the {@code unet_config} of {@code sd1/v1-inference.yaml},
 * random weights with a fixed seed) on a 64x64 latent (a 512x512 image) with batch 2 (classifier-free
 * guidance), no autograd: the process's peak RSS stays under 8 GiB thanks to query-chunked attention.
 * Slow (about a minute on 2 cores), so tagged {@code slow}.
 */
@Tag("slow")
class UNetSd15MemoryTest {

    static final long LIMIT_MB = 8L * 1024;

    @Test
    void sd15Forward64x64Batch2StaysUnder8GiB() {
        UNetModel net = KeyListings.build(KeyListings.node("sd1/v1-inference.yaml", "model.params.unet_config"),
                UNetModel.class);
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource ns = NoiseSource.seeded(0);
            long t0 = System.nanoTime();
            LowPeakInit.initialize(net, m, ns);
            net.eval();
            net.requiresGrad(false);
            long afterInit = BenchMain.peakRssMb();
            NDArray x = ns.randn(m, new Shape(2, 4, 64, 64));
            NDArray t = m.create(new float[] {999f, 999f});
            NDArray context = ns.randn(m, new Shape(2, 77, 768));
            long t1 = System.nanoTime();
            boolean grad = F.setGradEnabled(false);
            float[] stats;
            try (NDScope ignored = new NDScope();
                    NDArray out = net.forward(x, t, context, null)) {
                assertEquals(new Shape(2, 4, 64, 64), out.getShape());
                stats = new float[] {out.abs().max().getFloat(), out.isNaN().any().getBoolean() ? 1 : 0};
            } finally {
                F.setGradEnabled(grad);
            }
            long t2 = System.nanoTime();
            long peak = BenchMain.peakRssMb();
            System.out.printf("[sd15-memory] params %.1f M, peak RSS after init %d MiB, after forward %d MiB;"
                    + " init %.1f s, forward %.1f s, max|out| %.3g%n",
                    net.parameterCount() / 1e6, afterInit, peak, (t1 - t0) / 1e9, (t2 - t1) / 1e9, stats[0]);
            assertEquals(0f, stats[1], "output has NaNs");
            assertTrue(peak > 0 && peak < LIMIT_MB, "SD 1.5 64x64 batch-2 forward peak RSS " + peak + " MiB >= " + LIMIT_MB);
        }
    }
}
