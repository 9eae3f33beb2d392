package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PyTorch zip checkpoints written by torch 1.13 ({@code src/test/resources/io/torch/make_ckpts.py})
 * load bit for bit as torch itself loads them (the {@code *.expected.safetensors} files).
 */
class TorchCheckpointTest {

    static final Path DIR = Path.of("src/test/resources/io/torch");

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

    /** Every tensor of {@code ckpt} equals torch's (same keys in order, dtype, shape and bytes). */
    static void assertSameAsTorch(String ckpt, String expected) {
        assertSameAsTorch(ckpt, expected, m);
    }

    /** As {@link #assertSameAsTorch(String, String)}, allocating under {@code manager}. */
    static void assertSameAsTorch(String ckpt, String expected, NDManager manager) {
        try (StateDictFile f = StateDicts.open(DIR.resolve(ckpt));
                SafeTensorsFile e = SafeTensors.open(DIR.resolve(expected));
                NDManager sub = manager.newSubManager()) {
            assertInstanceOf(TorchCheckpoint.class, f);
            // safetensors orders by data offset (an empty tensor may move): compare the sets here, the
            // pickle's order in everyDtypeEqualsTorch
            assertEquals(new java.util.TreeSet<>(e.keys()), new java.util.TreeSet<>(f.keys()), "keys");
            for (String k : e.keys()) {
                assertEquals(e.info(k).dtype(), f.info(k).dtype(), k + " dtype");
                assertArrayEquals(e.info(k).shape(), f.info(k).shape(), k + " shape");
                SafeTensorsTest.assertBitEqual(e.load(k, sub), f.load(k, sub));
                SafeTensorsTest.assertBitEqual(e.load(k, sub, DataType.FLOAT32), f.load(k, sub, DataType.FLOAT32));
            }
        }
    }

    @Test
    void everyDtypeEqualsTorch() {
        assertSameAsTorch("dtypes.pth", "dtypes.expected.safetensors");
        try (StateDictFile f = StateDicts.open(DIR.resolve("dtypes.pth"))) {
            assertEquals(List.of("w.f32", "w.f64", "w.f16", "w.bf16", "i.i64", "i.i32", "i.i16", "i.i8", "i.u8", "m.bool",
                    "s.scalar", "s.empty", "f.special", "num_batches_tracked"), f.keys(), "the pickle's order");
            assertEquals("F16", f.info("w.f16").dtype());
            assertEquals("BF16", f.info("w.bf16").dtype());
            assertEquals(DataType.FLOAT16, f.load("w.f16", m).getDataType());
            assertEquals(DataType.FLOAT32, f.load("w.bf16", m).getDataType(), "bf16 is widened on load");
            assertEquals(DataType.FLOAT32, f.load("w.f16", m, DataType.FLOAT32).getDataType());
            assertArrayEquals(new long[0], f.info("s.scalar").shape());
            assertEquals(0, f.info("s.empty").numel());
        }
    }

    @Test
    void viewsSharingAStorageEqualTorch() {
        assertSameAsTorch("views.pth", "views.expected.safetensors");
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("views.pth"))) {
            assertArrayEquals(new long[] {8, 6}, f.info("transposed").shape());
            assertEquals(16 * 4, f.info("offset_rows").begin(), "storage offset in bytes");
            assertTrue(f.foreignGlobals().isEmpty(), "plain state dict: " + f.foreignGlobals());
        }
    }

    @Test
    void lightningCheckpointExposesStateDictAndMetadata() {
        assertSameAsTorch("lightning.ckpt", "lightning.expected.safetensors");
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("lightning.ckpt"))) {
            assertEquals("state_dict", f.stateDictKey());
            assertEquals(OptionalLong.of(1234), f.globalStep());
            assertEquals("3", f.metadata().get("epoch"));
            assertEquals("1.4.2", f.metadata().get("pytorch-lightning_version"));
            assertEquals("kwargs", f.metadata().get("hparams_name"));
            assertTrue(f.foreignGlobals().contains("argparse.Namespace"), f.foreignGlobals().toString());
            assertTrue(f.foreignGlobals().contains("__builtin__.complex"), f.foreignGlobals().toString());
        }
    }

    @Test
    void modelAndModuleWrappersAreUnwrapped() {
        for (String file : List.of("wrapped_model.pth", "wrapped_module.pth")) {
            try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve(file));
                    SafeTensorsFile e = SafeTensors.open(DIR.resolve("lightning.expected.safetensors"))) {
                assertEquals(file.contains("model") ? "model" : "module", f.stateDictKey());
                assertEquals(e.keys(), f.keys());
                for (String k : e.keys()) {
                    SafeTensorsTest.assertBitEqual(e.load(k, m), f.load(k, m));
                }
            }
        }
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("wrapped_model.pth"))) {
            assertEquals("3", f.metadata().get("epoch"));
        }
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("dtypes.pth"))) {
            assertNull(f.stateDictKey());
            assertEquals(OptionalLong.empty(), f.globalStep());
        }
    }

    @Test
    void factoryOpensSafetensorsAndReadAllConverts() {
        try (StateDictFile f = StateDicts.open(DIR.resolve("dtypes.expected.safetensors"))) {
            assertInstanceOf(SafeTensorsFile.class, f);
        }
        Map<String, NDArray> all = StateDicts.readAll(DIR.resolve("lightning.ckpt"), m, DataType.FLOAT32);
        assertEquals(3, all.size());
        all.values().forEach(a -> assertEquals(DataType.FLOAT32, a.getDataType()));
    }

    @Test
    void safetensorsWhoseHeaderLengthLooksLikeAPickleIsSafetensors() throws IOException {
        // header length 0x280 = 640: the file starts 0x80 0x02, like a protocol-2 pickle
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] h = (json + " ".repeat(640 - json.length())).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + 640 + 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(640).put(h).putFloat(2.5f);
        Path f = Files.write(tmp.resolve("x.safetensors"), b.array());
        try (StateDictFile s = StateDicts.open(f)) {
            assertInstanceOf(SafeTensorsFile.class, s);
            assertEquals(2.5f, s.load("a", m).getFloat(0));
        }
    }

    @Test
    void notACheckpointIsATypedError() throws IOException {
        Path zip = tmp.resolve("other.zip");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
            z.putNextEntry(new java.util.zip.ZipEntry("x/readme.txt"));
            z.write("hello".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            z.closeEntry();
        }
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class, () -> StateDicts.open(zip));
        assertTrue(e.getMessage().contains("no <root>/data.pkl"), e.getMessage());
        Path txt = Files.writeString(tmp.resolve("notes.ckpt"), "hello world, not a checkpoint");
        assertThrows(SafeTensorsFormatException.class, () -> StateDicts.open(txt));
    }

    @Test
    void bigEndianArchiveIsByteSwapped() throws IOException {
        Map<String, NDArray> sd = new java.util.LinkedHashMap<>();
        sd.put("f32", ai.djl.ndarray.NDArrays.stack(new ai.djl.ndarray.NDList(m.ones(new ai.djl.ndarray.types.Shape(3)),
                m.zeros(new ai.djl.ndarray.types.Shape(3)))));
        sd.put("i64", m.arange(0, 5, 1, DataType.INT64));
        Path le = tmp.resolve("le.pth");
        TorchCheckpointWriter.write(le, sd, null);
        Map<String, byte[]> entries = TorchCheckpointFuzzTest.entries(le);
        swap(entries.get("archive/data/0"), 4);
        swap(entries.get("archive/data/1"), 8);
        entries.put("archive/byteorder", "big".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Path be = tmp.resolve("be.pth");
        TorchCheckpointFuzzTest.writeZip(be, entries);
        try (TorchCheckpoint f = TorchCheckpoint.open(be)) {
            for (String k : sd.keySet()) {
                SafeTensorsTest.assertBitEqual(sd.get(k), f.load(k, m));
            }
        }
    }

    private static void swap(byte[] b, int es) {
        for (int p = 0; p < b.length; p += es) {
            for (int i = 0; i < es / 2; i++) {
                byte t = b[p + i];
                b[p + i] = b[p + es - 1 - i];
                b[p + es - 1 - i] = t;
            }
        }
    }

    @Test
    void deflatedArchiveLoadsTheSame() throws IOException {
        Path src = DIR.resolve("views.pth");
        Path re = tmp.resolve("views_deflated.pth");
        try (java.util.zip.ZipFile in = new java.util.zip.ZipFile(src.toFile());
                java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(re))) {
            for (java.util.zip.ZipEntry ze : java.util.Collections.list(in.entries())) {
                out.putNextEntry(new java.util.zip.ZipEntry(ze.getName()));
                out.write(in.getInputStream(ze).readAllBytes());
                out.closeEntry();
            }
        }
        try (TorchCheckpoint a = TorchCheckpoint.open(src); TorchCheckpoint b = TorchCheckpoint.open(re)) {
            assertEquals(a.keys(), b.keys());
            for (String k : a.keys()) {
                SafeTensorsTest.assertBitEqual(a.load(k, m), b.load(k, m));
            }
        }
    }
}
