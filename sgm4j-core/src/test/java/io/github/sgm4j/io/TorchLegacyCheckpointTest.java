package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PyTorch's legacy non-zip checkpoints ({@code _use_new_zipfile_serialization=False}, torch before
 * 1.6) written by torch 1.13 ({@code make_ckpts.py}) load bit for bit as torch itself loads them;
 * storage views of torch &lt; 0.4 resolve to sub-ranges of their root; payloads stay inert; damage is a
 * typed error naming the file and the byte offset.
 */
class TorchLegacyCheckpointTest {

    static final Path DIR = TorchCheckpointTest.DIR;

    static NDManager m;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        m.close();
    }

    private static void assertLegacySameAsTorch(String file, String expected) {
        TorchCheckpointTest.assertSameAsTorch(file, expected, m);
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve(file))) {
            assertTrue(f.isLegacy(), file);
        }
    }

    @Test
    void everyDtypeEqualsTorch() {
        assertLegacySameAsTorch("legacy.pth", "dtypes.expected.safetensors");
        try (StateDictFile f = StateDicts.open(DIR.resolve("legacy.pth"))) {
            assertEquals(List.of("w.f32", "w.f64", "w.f16", "w.bf16", "i.i64", "i.i32", "i.i16", "i.i8", "i.u8", "m.bool",
                    "s.scalar", "s.empty", "f.special", "num_batches_tracked"), f.keys(), "the pickle's order");
            assertEquals(DataType.FLOAT32, f.load("w.bf16", m).getDataType(), "bf16 is widened on load");
        }
    }

    @Test
    void viewsSharingAStorageEqualTorch() {
        assertLegacySameAsTorch("legacy_views.pth", "views.expected.safetensors");
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("legacy_views.pth"))) {
            assertArrayEquals(new long[] {8, 6}, f.info("transposed").shape());
            assertTrue(f.foreignGlobals().isEmpty(), f.foreignGlobals().toString());
        }
    }

    @Test
    void storageViewsOfOldTorchEqualTorch() {
        assertLegacySameAsTorch("legacy_storage_views.pth", "legacy_storage_views.expected.safetensors");
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("legacy_storage_views.pth"))) {
            assertEquals(List.of("whole", "view_a", "view_a_again", "view_b", "longs"), f.keys());
            assertEquals(2 * 4, f.info("view_a_again").begin(), "offset within the view, in bytes");
        }
    }

    @Test
    void storageViewPastItsRootIsRefused() {
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                () -> StateDicts.open(DIR.resolve("legacy_bad_view.pth")));
        assertTrue(e.getMessage().contains("legacy_bad_view.pth") && e.getMessage().contains("storage view '102'")
                && e.getMessage().contains("root storage '100'") && e.getMessage().contains("fault at file byte 462"), e.getMessage());
    }

    @Test
    void torchvisionVgg16LikeStateDictEqualsTorch() {
        assertLegacySameAsTorch("legacy_vgg16.pth", "legacy_vgg16.expected.safetensors");
        try (StateDictFile f = StateDicts.open(DIR.resolve("legacy_vgg16.pth"))) {
            assertArrayEquals(new long[] {4, 3, 3, 3}, f.info("features.0.weight").shape());
            assertTrue(f.contains("classifier.0.bias"));
        }
    }

    @Test
    void lightningCheckpointExposesStateDictAndMetadata() {
        assertLegacySameAsTorch("legacy_lightning.ckpt", "lightning.expected.safetensors");
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("legacy_lightning.ckpt"))) {
            assertEquals("state_dict", f.stateDictKey());
            assertEquals(OptionalLong.of(1234), f.globalStep());
            assertEquals("1.4.2", f.metadata().get("pytorch-lightning_version"));
            assertTrue(f.foreignGlobals().contains("argparse.Namespace"), f.foreignGlobals().toString());
        }
    }

    @Test
    void payloadsStayInertOrAreRefusedByName() throws IOException {
        Files.deleteIfExists(TorchCheckpointSafetyTest.MARKER);
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("legacy_malicious.pth"))) {
            assertEquals(List.of("w"), f.keys());
            assertTrue(f.foreignGlobals().contains("posix.system"), f.foreignGlobals().toString());
            assertEquals(2, f.load("w", m).size());
        }
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                () -> StateDicts.open(DIR.resolve("legacy_malicious_tensor.pth")));
        assertTrue(e.getMessage().contains("'evil'") && e.getMessage().contains("posix.system")
                && e.getMessage().contains("legacy_malicious_tensor.pth"), e.getMessage());
        assertFalse(Files.exists(TorchCheckpointSafetyTest.MARKER), "the pickle's payload ran");
    }

    @Test
    void writerOutputRoundTrips() throws IOException {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        sd.put("a", m.arange(0, 12, 1, DataType.FLOAT32).reshape(3, 4));
        sd.put("b", m.arange(0, 5, 1, DataType.INT64));
        sd.put("c", m.arange(0, 6, 1, DataType.FLOAT32).toType(DataType.FLOAT16, false).reshape(2, 3));
        Path f = tmp.resolve("w.ckpt");
        TorchCheckpointWriter.writeLegacy(f, sd, new LinkedHashMap<>(Map.of("global_step", 9L)));
        try (TorchCheckpoint c = TorchCheckpoint.open(f)) {
            assertTrue(c.isLegacy());
            assertEquals(List.of("a", "b", "c"), c.keys());
            assertEquals(OptionalLong.of(9), c.globalStep());
            for (String k : sd.keySet()) {
                SafeTensorsTest.assertBitEqual(sd.get(k), c.load(k, m));
            }
        }
    }

    @Test
    void objectPickleLargerThanTheFirstWindowIsRead() throws IOException {
        String longName = "x".repeat(3 << 20);
        Map<String, NDArray> sd = new LinkedHashMap<>();
        sd.put("before", m.arange(0, 3, 1, DataType.FLOAT32));
        sd.put(longName, m.arange(0, 4, 1, DataType.INT32));
        Path f = tmp.resolve("big_pickle.pth");
        TorchCheckpointWriter.writeLegacy(f, sd, null);
        try (TorchCheckpoint c = TorchCheckpoint.open(f)) {
            assertEquals(List.of("before", longName), c.keys());
            for (String k : sd.keySet()) {
                SafeTensorsTest.assertBitEqual(sd.get(k), c.load(k, m));
            }
        }
    }

    @Test
    void truncatedAndInconsistentFilesNameTheOffset() throws IOException {
        byte[] ok = Files.readAllBytes(DIR.resolve("legacy_vgg16.pth"));
        Path cut = Files.write(tmp.resolve("cut.pth"), java.util.Arrays.copyOf(ok, ok.length - 5));
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class, () -> StateDicts.open(cut));
        assertTrue(e.getMessage().contains("cut.pth") && e.getMessage().contains("at byte")
                && e.getMessage().contains("truncated"), e.getMessage());

        Map<String, NDArray> sd = Map.of("a", m.ones(new Shape(4)));
        Path f = tmp.resolve("one.pth");
        TorchCheckpointWriter.writeLegacy(f, sd, null);
        byte[] b = Files.readAllBytes(f);
        int countAt = b.length - 16 - 8;
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(countAt, Long.MAX_VALUE / 2);
        Path huge = Files.write(tmp.resolve("huge.pth"), b);
        e = assertThrows(TorchCheckpointFormatException.class, () -> StateDicts.open(huge));
        assertTrue(e.getMessage().contains("at byte " + countAt) && e.getMessage().contains("elements"), e.getMessage());

        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(countAt, 3);
        byte[] shorter = java.util.Arrays.copyOf(b, b.length - 4);
        Path wrong = Files.write(tmp.resolve("wrong.pth"), shorter);
        e = assertThrows(TorchCheckpointFormatException.class, () -> StateDicts.open(wrong));
        assertTrue(e.getMessage().contains("declares 4 elements") && e.getMessage().contains("holds 3"), e.getMessage());
    }

    @Test
    void barePickleAndTarLayoutAreClearErrors() throws IOException {
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                () -> StateDicts.open(DIR.resolve("protocol2.pkl")));
        assertTrue(e.getMessage().contains("bare pickle") && e.getMessage().contains("protocol2.pkl"), e.getMessage());
        byte[] tar = new byte[1024];
        byte[] name = "storages".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(name, 0, tar, 0, name.length);
        System.arraycopy("ustar".getBytes(StandardCharsets.US_ASCII), 0, tar, 257, 5);
        Path t = Files.write(tmp.resolve("old.pth"), tar);
        e = assertThrows(TorchCheckpointFormatException.class, () -> StateDicts.open(t));
        assertTrue(e.getMessage().contains("tar archive") && e.getMessage().contains("old.pth")
                && e.getMessage().contains("safetensors"), e.getMessage());
    }
}
