package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test helper {@link TorchCheckpointWriter} round-trips through {@link TorchCheckpoint}. */
class TorchCheckpointWriterTest {

    @TempDir
    Path dir;

    @Test
    void writtenCheckpointReadsBack() throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile e = SafeTensors.open(TorchCheckpointTest.DIR.resolve("lightning.expected.safetensors"))) {
            Map<String, ai.djl.ndarray.NDArray> sd = e.loadAll(m);
            Path f = dir.resolve("w.ckpt");
            Map<String, Object> top = new LinkedHashMap<>();
            top.put("epoch", 2L);
            top.put("global_step", 77L);
            TorchCheckpointWriter.write(f, sd, top);
            try (TorchCheckpoint c = TorchCheckpoint.open(f)) {
                assertEquals(OptionalLong.of(77), c.globalStep());
                assertEquals(e.keys(), c.keys());
                for (String k : e.keys()) {
                    SafeTensorsTest.assertBitEqual(sd.get(k), c.load(k, m));
                }
            }
        }
    }
}
