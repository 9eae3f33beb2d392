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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading, writing and validating safetensors files. */
class SafeTensorsTest {

    static NDManager m;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        m.close();
    }

    static Map<String, NDArray> everyDtype() {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("f64", m.create(new double[] {1.5, -2.25, Math.PI, Double.MAX_VALUE, -0.0, 1e-300}, new Shape(2, 3)));
        t.put("f32", m.create(new float[] {1.5f, Float.NaN, Float.NEGATIVE_INFINITY, 3e-38f}, new Shape(4)));
        t.put("f16", m.create(new float[] {0.5f, -1.25f, 65504f}).toType(DataType.FLOAT16, false));
        t.put("i64", m.create(new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, new Shape(2, 2)));
        t.put("i32", m.create(new int[] {Integer.MIN_VALUE, 7}, new Shape(2)));
        t.put("i8", m.create(new byte[] {-128, 0, 127}, new Shape(3)));
        t.put("u8", m.create(ByteBuffer.wrap(new byte[] {0, (byte) 200, (byte) 255}), new Shape(3), DataType.UINT8));
        t.put("bool", m.create(new boolean[] {true, false, true}));
        t.put("scalar", m.create(42.0f).reshape(new Shape()));
        t.put("empty", m.zeros(new Shape(0, 3)));
        return t;
    }

    static void assertBitEqual(NDArray expected, NDArray actual) {
        assertEquals(expected.getShape(), actual.getShape(), "shape");
        assertEquals(expected.getDataType(), actual.getDataType(), "dtype");
        ByteBuffer e = expected.toByteBuffer();
        ByteBuffer a = actual.toByteBuffer();
        assertEquals(e, a, "bytes");
    }

    @Test
    void roundTripEveryDtypeBitExact() {
        Map<String, NDArray> t = everyDtype();
        Path f = dir.resolve("all.safetensors");
        SafeTensors.write(f, t, Map.of("format", "pt", "note", "sgm4j test"));
        try (SafeTensorsFile st = SafeTensors.open(f)) {
            assertEquals(List.copyOf(t.keySet()), st.keys());
            assertEquals("pt", st.metadata().get("format"));
            for (String k : t.keySet()) {
                assertBitEqual(t.get(k), st.load(k, m));
            }
            assertEquals(DataType.FLOAT32, st.load("f16", m, DataType.FLOAT32).getDataType());
        }
        long headerLen = ByteBuffer.wrap(readBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to a multiple of 8");
    }

    @Test
    void bf16AndI16AreWidenedInJava() throws IOException {
        // bf16 bits of 1.0, -2.5, 3.140625; i16 values -3, 1000
        ByteBuffer data = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3f80).putShort((short) 0xc020).putShort((short) 0x4049);
        data.putShort((short) -3).putShort((short) 1000);
        Path f = writeRaw("{\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"s\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[6,10]}}", data.array());
        try (SafeTensorsFile st = SafeTensors.open(f)) {
            NDArray b = st.load("b", m);
            assertEquals(DataType.FLOAT32, b.getDataType());
            assertArrayEquals(new float[] {1.0f, -2.5f, 3.140625f}, b.toFloatArray());
            NDArray s = st.load("s", m);
            assertEquals(DataType.INT32, s.getDataType());
            assertArrayEquals(new int[] {-3, 1000}, s.toIntArray());
        }
    }

    @Test
    void readsAGoldenCaseFileWrittenByTheReference() {
        Path f = Path.of("src/test/resources/golden/distributions_diag_gaussian/io.safetensors");
        try (SafeTensorsFile st = SafeTensors.open(f)) {
            assertTrue(st.contains("input.parameters"));
            NDArray p = st.load("input.parameters", m);
            assertEquals(new Shape(2, 8, 4, 4), p.getShape());
            // planted logvar extremes of the case (golden/README): -45 and 35 appear
            float[] v = p.toFloatArray();
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float x : v) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            assertEquals(-45f, min);
            assertEquals(35f, max);
        }
    }

    @Test
    void javaPythonJavaRoundTripIsBitExact() throws Exception {
        Assumptions.assumeTrue(pythonWithNumpy(), "python3 with numpy not available");
        Map<String, NDArray> t = everyDtype();
        t.remove("empty");
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        SafeTensors.write(a, t, Map.of());
        Process p = new ProcessBuilder("python3", "src/test/resources/io/st_roundtrip.py", a.toString(), b.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        try (SafeTensorsFile st = SafeTensors.open(b)) {
            assertEquals(t.size(), st.keys().size());
            for (String k : t.keySet()) {
                assertBitEqual(t.get(k), st.load(k, m));
            }
        }
    }

    static boolean pythonWithNumpy() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void writeIsAtomicAndLeavesNoTempFiles() throws IOException {
        Path f = dir.resolve("ckpt.safetensors");
        SafeTensors.write(f, Map.of("a", m.ones(new Shape(3))), Map.of());
        byte[] before = readBytes(f);
        NDArray bad = m.create(new String[] {"not a tensor"});
        assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(f, Map.of("a", m.ones(new Shape(3)), "s", bad), Map.of()));
        assertArrayEquals(before, readBytes(f), "failed write must leave the old file untouched");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary files left behind");
        }
    }

    // ------------------------------------------------------------------ bad input

    Path writeRaw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    static byte[] readBytes(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    void assertBad(Path f, String... fragments) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(f).close());
        assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
        for (String s : fragments) {
            assertTrue(e.getMessage().contains(s), "message should contain '" + s + "': " + e.getMessage());
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path good = dir.resolve("good.safetensors");
        SafeTensors.write(good, Map.of("w", m.ones(new Shape(16))), Map.of());
        byte[] all = readBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 10));
        assertBad(cut, "'w'", "past the data section");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertBad(tiny, "shorter than the 8-byte header");
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Path f = dir.resolve("long.safetensors");
        Files.write(f, b.array());
        assertBad(f, "header length 1000 is larger than the file");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]),
                "'w'", "past the data section");
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[8]),
                "'w'", "invalid data_offsets");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertBad(writeRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "overlaps");
    }

    @Test
    void unknownDtype() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]),
                "'w'", "unsupported dtype 'F8_E4M3'");
    }

    @Test
    void shapeByteLengthMismatch() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
                "'w'", "needs 12 bytes");
    }

    @Test
    void duplicateName() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "'w' appears twice");
    }

    @Test
    void headerNotJson() throws IOException {
        assertBad(writeRaw("[1, 2, 3]       ", new byte[0]), "not a JSON object");
    }

    /** Issue 10.4: a non-JSON header names the file and says so, without Gson's advice and URL. */
    @Test
    void headerNotJsonSaysSoWithoutGsonAdvice() throws IOException {
        for (String h : new String[] {"not json at all!", "{\"w\": oops}    ", "{\"a\" {}}      "}) {
            Path f = writeRaw(h, new byte[0]);
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(f).close());
            String msg = e.getMessage();
            assertTrue(msg.contains(f.toString()) && msg.contains("header is not JSON"), msg);
            for (String gson : new String[] {"http", "setStrictness", "setLenient", "Troubleshooting", "\n"}) {
                assertFalse(msg.contains(gson), "no Gson advice (" + gson + "): " + msg);
            }
        }
    }

    /** Issue 10.4: a shape whose element count overflows 64 bits (and wraps to 0 bytes) is rejected at parse. */
    @Test
    void shapeOverflowIsRejectedAtHeaderParse() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
                new byte[0]), "'w'", "more elements than fit in 64 bits");
        assertBad(writeRaw("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
                new byte[0]), "'w'", "64 bits");
        // a zero dimension makes any shape empty: still valid
        try (SafeTensorsFile st = SafeTensors.open(writeRaw(
                "{\"e\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4,0],\"data_offsets\":[0,0]}}", new byte[0]))) {
            assertEquals(0, st.info("e").numel());
        }
    }

    /** Issue 10.3: written files get the umask's permissions like any other output, not createTempFile's 0600. */
    @Test
    void writtenFilesHaveTheUsualPermissions() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX file system");
        Path plain = dir.resolve("plain.txt");
        Files.writeString(plain, "x");
        Path f = dir.resolve("perm.safetensors");
        SafeTensors.write(f, Map.of("a", m.ones(new Shape(3))), Map.of());
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f));
    }

    @Test
    void missingFieldsAndNegativeDims() throws IOException {
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "'w'", "data_offsets");
        assertBad(writeRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]),
                "'w'", "negative dimension");
    }

    @Test
    void emptyFileWithMetadataOnly() throws IOException {
        Path f = writeRaw("{\"__metadata__\":{\"k\":\"v\"}}", new byte[0]);
        try (SafeTensorsFile st = SafeTensors.open(f)) {
            assertTrue(st.keys().isEmpty());
            assertEquals("v", st.metadata().get("k"));
            assertFalse(st.contains("k"));
        }
    }
}
