package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.models.DiffusionEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training with a fixed seed is bit-reproducible: the garbage collector's timing (which once freed
 * Java buffers that autograd still read, see {@code io.github.sgm4j.engine.Tensors}) and separate
 * JVMs do not change a checkpoint by a single bit.
 */
class DeterminismTest {

    private static final long STEPS = 4;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        TrainingTest.load();
    }

    private static List<Double> train(Path out) {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            return TrainingTest.train(e, STEPS, out);
        }
    }

    private static byte[] checkpoint(Path out) throws Exception {
        return Files.readAllBytes(out.resolve("last.safetensors"));
    }

    @Test
    void gcStressDoesNotChangeTraining() throws Exception {
        List<Double> plain = train(dir.resolve("plain"));
        List<Double> stressed;
        try (GcStressor s = new GcStressor()) {
            stressed = train(dir.resolve("stressed"));
        }
        assertEquals(STEPS, plain.size());
        assertEquals(plain, stressed, "losses with GC stress");
        assertArrayEquals(checkpoint(dir.resolve("plain")), checkpoint(dir.resolve("stressed")),
                "checkpoint bytes with GC stress");
    }

    private Process launch(String name, boolean gc, boolean oneThread) throws Exception {
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx2g", "-Dai.djl.offline=true"));
        if (oneThread) {
            cmd.add("-Dai.djl.pytorch.num_threads=1");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DeterminismMain.class.getName(),
                dir.resolve(name).toString(), Long.toString(STEPS), gc ? "gc" : "plain"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        return pb.start();
    }

    private void await(String name, Process p) throws Exception {
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), name + " did not finish");
        assertEquals(0, p.exitValue(), name + " failed:\n" + Files.readString(dir.resolve(name + ".log")));
    }

    private void assertSame(String a, String b) throws Exception {
        assertEquals(Files.readString(dir.resolve(a).resolve("losses.txt")),
                Files.readString(dir.resolve(b).resolve("losses.txt")), "losses of " + a + " and " + b);
        assertArrayEquals(checkpoint(dir.resolve(a)), checkpoint(dir.resolve(b)), "checkpoints of " + a + " and " + b);
    }

    @Test
    void separateJvmsGiveBitIdenticalCheckpoints() throws Exception {
        // two at a time: the machine may have two cores
        String[][] runs = {
            {"default-a", "plain", "default"}, {"default-b", "plain", "default"},
            {"default-gc", "gc", "default"}, {"single-a", "plain", "1"}, {"single-gc", "gc", "1"},
        };
        for (int i = 0; i < runs.length; i += 2) {
            List<Process> ps = new ArrayList<>();
            for (int j = i; j < Math.min(runs.length, i + 2); j++) {
                ps.add(launch(runs[j][0], runs[j][1].equals("gc"), runs[j][2].equals("1")));
            }
            for (int j = i; j < Math.min(runs.length, i + 2); j++) {
                await(runs[j][0], ps.get(j - i));
            }
        }
        assertSame("default-a", "default-b");
        assertSame("default-a", "default-gc");
        assertSame("single-a", "single-gc");
    }
}
