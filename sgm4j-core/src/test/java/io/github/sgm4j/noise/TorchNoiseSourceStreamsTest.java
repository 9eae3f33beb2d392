package io.github.sgm4j.noise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.F;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Each seeded source has its own stream: interleaving, threads and foreign reseeds change nothing. */
class TorchNoiseSourceStreamsTest {

    /** The i-th draw of a fixed mix of kinds, as text (values compared exactly). */
    static String drawOne(NoiseSource s, NDManager m, int i) {
        NDArray a = switch (i % 5) {
            case 0 -> s.randn(m, new Shape(3, 7));
            case 1 -> s.rand(m, new Shape(20));
            case 2 -> s.randint(m, 0, 1000, new Shape(6));
            case 3 -> s.bernoulli(m.full(new Shape(17), 0.5f));
            default -> s.randnLike(m.zeros(new Shape(2, 9), DataType.FLOAT64));
        };
        try (a; NDArray d = a.toType(DataType.FLOAT64, true)) {
            return Arrays.toString(d.toDoubleArray());
        }
    }

    static List<String> alone(long seed, int n) {
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource s = NoiseSource.seeded(seed);
            List<String> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(drawOne(s, m, i));
            }
            return out;
        }
    }

    @Test
    void interleavedSourcesEqualEachAlone() {
        List<String> a = alone(1, 10);
        List<String> b = alone(2, 10);
        assertNotEquals(a, b);
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource sa = NoiseSource.seeded(1);
            NoiseSource sb = NoiseSource.seeded(2);
            List<String> ia = new ArrayList<>();
            List<String> ib = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                ia.add(drawOne(sa, m, i));
                ib.add(drawOne(sb, m, i));
                if (i % 3 == 0) {
                    NoiseSource.seeded(99).randn(m, new Shape(5)).close();   // a third source in between
                }
            }
            assertEquals(a, ia);
            assertEquals(b, ib);
        }
    }

    @Test
    void concurrentThreadsGetTheirSequentialStreams() throws Exception {
        int threads = 3;
        List<List<String>> expected = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            expected.add(alone(10 + t, 15));
        }
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<String>>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 10 + t;
                fs.add(ex.submit(() -> alone(seed, 15)));
            }
            for (int t = 0; t < threads; t++) {
                assertEquals(expected.get(t), fs.get(t).get(), "thread " + t);
            }
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void foreignManualSeedDoesNotDisturbASource() {
        List<String> a = alone(5, 6);
        try (NDManager m = NDManager.newBaseManager()) {
            NoiseSource s = NoiseSource.seeded(5);
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                got.add(drawOne(s, m, i));
                F.manualSeed(12345 + i);   // torch.manual_seed by someone else
            }
            assertEquals(a, got);
        }
    }
}
