package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.sgm4j.io.pickle.PickleException;
import io.github.sgm4j.io.pickle.SafeUnpickler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzing with fixed seeds (a few seconds in CI): random pickles, and the torch 1.13 fixtures with
 * their {@code data.pkl} mutated (bit flips, truncations, inserted and overwritten opcodes; the zip
 * rebuilt with valid CRCs so the unpickler sees the damage) or the whole file damaged; likewise the
 * legacy non-zip fixtures, one of their five back-to-back pickles mutated in place. Every input
 * must end in success or a typed exception ({@link PickleException} / {@link
 * TorchCheckpointFormatException}) within a time bound: no hang, no other exception, no {@link
 * StackOverflowError} or {@link OutOfMemoryError}.
 */
class TorchCheckpointFuzzTest {

    static final List<String> FIXTURES = List.of("dtypes.pth", "views.pth", "lightning.ckpt", "malicious.pth",
            "load_from_bytes.pth");

    /** Legacy non-zip fixtures: their pickles are mutated in place, the file damaged as a whole. */
    static final List<String> LEGACY_FIXTURES = List.of("legacy.pth", "legacy_views.pth", "legacy_storage_views.pth",
            "legacy_lightning.ckpt", "legacy_malicious.pth");

    /** Bytes the mutations insert: every pickle opcode. */
    static final byte[] OPCODES = "(.012FIJKLMNPQRSTUVXabcd}eghijl]opqrst)uGBC".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

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

    @Test
    void randomPicklesFailWithTypedErrors() {
        Random r = new Random(20261205L);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 4000; i++) {
                byte[] p = randomPickle(r);
                long t0 = System.nanoTime();
                try {
                    new SafeUnpickler(TorchCheckpointSafetyTest.NOTHING).load(p);
                    outcomes[0]++;
                } catch (PickleException e) {
                    outcomes[1]++;
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 2000, "iteration " + i + " took " + ms + " ms");
            }
        });
        assertTrue(outcomes[0] > 0 && outcomes[1] > 0, "successes/errors " + outcomes[0] + "/" + outcomes[1]);
    }

    @Test
    void mutatedPicklesInRealCheckpoints() throws IOException {
        Random r = new Random(7L);
        int[] outcomes = new int[2];
        for (String name : FIXTURES) {
            Map<String, byte[]> entries = entries(TorchCheckpointTest.DIR.resolve(name));
            String pkl = entries.keySet().stream().filter(k -> k.endsWith("/data.pkl")).findFirst().orElseThrow();
            byte[] original = entries.get(pkl);
            for (int i = 0; i < 120; i++) {
                Map<String, byte[]> mutated = new LinkedHashMap<>(entries);
                mutated.put(pkl, mutate(original, r));
                Path f = tmp.resolve("m" + i + ".pth");
                writeZip(f, mutated);
                outcomes[openAndLoadAll(f, name + " data.pkl mutation " + i)]++;
            }
        }
        assertTrue(outcomes[0] > 0 && outcomes[1] > 0, "successes/errors " + outcomes[0] + "/" + outcomes[1]);
    }

    @Test
    void damagedFiles() throws IOException {
        Random r = new Random(11L);
        int[] outcomes = new int[2];
        for (String name : FIXTURES) {
            byte[] original = Files.readAllBytes(TorchCheckpointTest.DIR.resolve(name));
            for (int i = 0; i < 80; i++) {
                byte[] b = original.clone();
                if (r.nextBoolean()) {
                    b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                } else {
                    for (int k = 1 + r.nextInt(8); k > 0; k--) {
                        b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                Path f = Files.write(tmp.resolve("d" + i + ".ckpt"), b);
                outcomes[openAndLoadAll(f, name + " damage " + i)]++;
            }
        }
        assertTrue(outcomes[1] > 0, "successes/errors " + outcomes[0] + "/" + outcomes[1]);
    }

    @Test
    void mutatedPicklesInLegacyCheckpoints() throws IOException {
        Random r = new Random(1950L);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (String name : LEGACY_FIXTURES) {
                byte[] original = Files.readAllBytes(TorchCheckpointTest.DIR.resolve(name));
                int[] bounds = pickleBounds(original);
                for (int i = 0; i < 60; i++) {
                    // mostly the object pickle (index 3), sometimes the others (magic, version, sys_info, keys)
                    int which = r.nextInt(3) > 0 ? 3 : r.nextInt(5);
                    byte[] piece = java.util.Arrays.copyOfRange(original, bounds[which], bounds[which + 1]);
                    byte[] mutated = mutate(piece, r);
                    byte[] b = new byte[original.length - piece.length + mutated.length];
                    System.arraycopy(original, 0, b, 0, bounds[which]);
                    System.arraycopy(mutated, 0, b, bounds[which], mutated.length);
                    System.arraycopy(original, bounds[which + 1], b, bounds[which] + mutated.length,
                            original.length - bounds[which + 1]);
                    Path f = Files.write(tmp.resolve("l" + i + ".pth"), b);
                    outcomes[openAndLoadAll(f, name + " pickle " + which + " mutation " + i)]++;
                }
            }
        });
        assertTrue(outcomes[0] > 0 && outcomes[1] > 0, "successes/errors " + outcomes[0] + "/" + outcomes[1]);
    }

    @Test
    void damagedLegacyFiles() throws IOException {
        Random r = new Random(1001L);
        int[] outcomes = new int[2];
        for (String name : LEGACY_FIXTURES) {
            byte[] original = Files.readAllBytes(TorchCheckpointTest.DIR.resolve(name));
            for (int i = 0; i < 40; i++) {
                byte[] b = original.clone();
                if (r.nextBoolean()) {
                    b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                } else {
                    for (int k = 1 + r.nextInt(8); k > 0; k--) {
                        b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                Path f = Files.write(tmp.resolve("dl" + i + ".pth"), b);
                outcomes[openAndLoadAll(f, name + " damage " + i)]++;
            }
        }
        assertTrue(outcomes[1] > 0, "successes/errors " + outcomes[0] + "/" + outcomes[1]);
    }

    /** Start offsets of the five pickles of a legacy file, then the start of its storage section. */
    static int[] pickleBounds(byte[] file) {
        int[] out = new int[6];
        for (int k = 0; k < 5; k++) {
            SafeUnpickler u = new SafeUnpickler(TorchCheckpointSafetyTest.NOTHING);
            u.load(java.util.Arrays.copyOfRange(file, out[k], file.length));
            out[k + 1] = out[k] + u.end();
        }
        return out;
    }

    /** 0 on success, 1 on a typed error; anything else fails the test. */
    private static int openAndLoadAll(Path f, String what) {
        return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (TorchCheckpoint c = TorchCheckpoint.open(f); NDManager sub = m.newSubManager()) {
                for (String k : c.keys()) {
                    c.info(k);
                    NDArray a = c.load(k, sub, DataType.FLOAT32);
                    a.close();
                }
                return 0;
            } catch (TorchCheckpointFormatException e) {
                return 1;
            }
        }, what);
    }

    static byte[] mutate(byte[] p, Random r) {
        List<Byte> b = new ArrayList<>(p.length + 8);
        for (byte x : p) {
            b.add(x);
        }
        int kind = r.nextInt(4);
        int n = 1 + r.nextInt(4);
        for (int k = 0; k < n && !b.isEmpty(); k++) {
            int at = r.nextInt(b.size());
            switch (kind) {
                case 0 -> b.set(at, (byte) (b.get(at) ^ (1 << r.nextInt(8))));
                case 1 -> b.subList(at, b.size()).clear();
                case 2 -> b.add(at, OPCODES[r.nextInt(OPCODES.length)]);
                default -> b.set(at, r.nextBoolean() ? OPCODES[r.nextInt(OPCODES.length)] : (byte) (0x80 + r.nextInt(0x19)));
            }
        }
        byte[] out = new byte[b.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }

    static byte[] randomPickle(Random r) {
        int len = r.nextInt(64);
        byte[] b = new byte[len + 3];
        b[0] = (byte) 0x80;
        b[1] = (byte) r.nextInt(6);
        for (int i = 2; i < len + 2; i++) {
            int c = r.nextInt(10);
            b[i] = c < 5 ? OPCODES[r.nextInt(OPCODES.length)]
                    : c < 7 ? (byte) (0x80 + r.nextInt(0x19)) : (byte) r.nextInt(256);
        }
        b[len + 2] = '.';
        if (r.nextInt(4) == 0) {
            r.nextBytes(b);
        }
        return b;
    }

    static Map<String, byte[]> entries(Path zip) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (ZipEntry e : Collections.list(z.entries())) {
                out.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return out;
    }

    /** A stored (uncompressed) zip of {@code entries}, as torch writes them. */
    static void writeZip(Path f, Map<String, byte[]> entries) throws IOException {
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream z = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
    }
}
