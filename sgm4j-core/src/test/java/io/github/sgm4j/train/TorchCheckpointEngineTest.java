package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.io.TorchCheckpointFormatException;
import io.github.sgm4j.io.TorchCheckpointWriter;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineCheckpoint;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Lightning-style {@code .ckpt} of a DiffusionEngine loads wherever a {@code .safetensors} does. */
class TorchCheckpointEngineTest {

    @TempDir
    Path dir;

    @Test
    void lightningCkptLoadsStrictlyAndNonStrictly() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine a = TrainingTest.engine(m, TrainingTest.TINY);
            Map<String, NDArray> sd = new LinkedHashMap<>(a.stateDict());
            Path ckpt = dir.resolve("tiny.ckpt");
            Map<String, Object> top = new LinkedHashMap<>();
            top.put("epoch", 0L);
            top.put("global_step", 5L);
            TorchCheckpointWriter.write(ckpt, sd, top);

            DiffusionEngine b = TrainingTest.engine(m, TrainingTest.TINY);
            b.initialize(m, NoiseSource.seeded(99));
            EngineCheckpoint.loadWeights(ckpt, b, true);
            Map<String, NDArray> got = b.stateDict();
            for (String k : sd.keySet()) {
                assertTrue(sd.get(k).contentEquals(got.get(k)), k);
            }

            DiffusionEngine c = TrainingTest.engine(m, TrainingTest.TINY);
            c.initialize(m, NoiseSource.seeded(98));
            assertEquals(List.of(), EngineCheckpoint.initFromCkpt(ckpt, c).missingKeys());
            String k0 = sd.keySet().iterator().next();
            assertTrue(sd.get(k0).contentEquals(c.stateDict().get(k0)), k0);

            TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                    () -> EngineCheckpoint.initFromCkpt(Path.of("src/test/resources/io/torch/legacy_malicious_tensor.pth"), c));
            assertTrue(e.getMessage().contains("posix.system"), e.getMessage());
        }
    }
}
