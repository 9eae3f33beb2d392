package io.github.sgm4j.modules.autoencoding.lpips;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.io.StateDictFile;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.io.TorchCheckpoint;
import io.github.sgm4j.io.TorchCheckpointWriter;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LpipsWeights#load} reads the two files users have in the format they are published in:
 * torchvision's {@code vgg16-397923af.pth} and the {@code lpips} package's {@code vgg.pth}, both
 * PyTorch legacy non-zip checkpoints. Correctly shaped random weights are written at test time in
 * that format ({@link TorchCheckpointWriter#writeLegacy}, whose output torch 1.13 loads) with
 * torchvision's keys (classifier included) and LPIPS's keys, and must load bit for bit.
 */
class LpipsWeightsLegacyTest {

    @TempDir
    Path dir;

    @Test
    void legacyVgg16AndHeadsLoad() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LPIPS src = new LPIPS();
            src.initialize(m, new TorchNoiseSource(7));
            Map<String, NDArray> vgg = new LinkedHashMap<>();
            Map<String, NDArray> lin = new LinkedHashMap<>();
            src.stateDict().forEach((k, v) -> {
                if (k.startsWith("net.slice")) {
                    vgg.put("features." + k.substring(k.indexOf('.', 4) + 1), v);
                } else if (k.startsWith("lin")) {
                    lin.put(k, v);
                }
            });
            vgg.put("classifier.6.weight", m.ones(new Shape(3, 2), DataType.FLOAT32));
            vgg.put("classifier.6.bias", m.zeros(new Shape(3), DataType.FLOAT32));
            TorchCheckpointWriter.writeLegacy(dir.resolve("vgg16-397923af.pth"), vgg, null);
            TorchCheckpointWriter.writeLegacy(dir.resolve("vgg.pth"), lin, null);
            for (String f : new String[] {"vgg16-397923af.pth", "vgg.pth"}) {
                try (StateDictFile s = StateDicts.open(dir.resolve(f))) {
                    assertTrue(s instanceof TorchCheckpoint t && t.isLegacy(), f);
                }
            }

            LPIPS dst = new LPIPS();
            dst.initialize(m, new TorchNoiseSource(8));
            assertFalse(src.stateDict().get("net.slice1.0.weight").contentEquals(dst.stateDict().get("net.slice1.0.weight")));
            LpipsWeights.load(dst, dir);
            Map<String, NDArray> want = src.stateDict();
            Map<String, NDArray> got = dst.stateDict();
            assertEquals(want.keySet(), got.keySet());
            for (String k : want.keySet()) {
                assertTrue(want.get(k).contentEquals(got.get(k)), k);
            }
        }
    }

    @Test
    void pthWithUnexpectedKeysIsAnErrorNamingFileAndKey() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LPIPS src = new LPIPS();
            src.initialize(m, new TorchNoiseSource(7));
            Map<String, NDArray> vgg = new LinkedHashMap<>();
            Map<String, NDArray> lin = new LinkedHashMap<>();
            src.stateDict().forEach((k, v) -> {
                if (k.startsWith("net.slice")) {
                    vgg.put("features." + k.substring(k.indexOf('.', 4) + 1), v);
                } else if (k.startsWith("lin")) {
                    lin.put(k, v);
                }
            });
            lin.put("net.fc.weight", m.ones(new Shape(2, 2), DataType.FLOAT32));
            TorchCheckpointWriter.writeLegacy(dir.resolve("vgg16-397923af.pth"), vgg, null);
            TorchCheckpointWriter.writeLegacy(dir.resolve("vgg.pth"), lin, null);
            LPIPS dst = new LPIPS();
            dst.initialize(m, new TorchNoiseSource(8));
            LpipsWeights.MissingWeightsException e = org.junit.jupiter.api.Assertions.assertThrows(
                    LpipsWeights.MissingWeightsException.class, () -> LpipsWeights.load(dst, dir));
            assertTrue(e.getMessage().contains("vgg.pth") && e.getMessage().contains("'net.fc.weight'"), e.getMessage());
        }
    }
}
