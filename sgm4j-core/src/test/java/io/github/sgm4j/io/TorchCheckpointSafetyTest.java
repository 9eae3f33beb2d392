package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.io.pickle.PickleDict;
import io.github.sgm4j.io.pickle.PickleException;
import io.github.sgm4j.io.pickle.PickleGlobal;
import io.github.sgm4j.io.pickle.PickleObject;
import io.github.sgm4j.io.pickle.PickleResolver;
import io.github.sgm4j.io.pickle.PickleTuple;
import io.github.sgm4j.io.pickle.SafeUnpickler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * "Never executes code": pickles whose {@code __reduce__} would run {@code posix.system("touch
 * MARKER")} (written by real torch in make_ckpts.py) are read without creating the marker file; the
 * global is reported by name, and refused when it sits where a tensor belongs.
 */
class TorchCheckpointSafetyTest {

    static final Path DIR = TorchCheckpointTest.DIR;

    /** The file the payloads of make_ckpts.py would create. */
    static final Path MARKER = Path.of("/tmp/sgm4j-pickle-pwned-MARKER");

    @BeforeEach
    void noMarker() throws IOException {
        Files.deleteIfExists(MARKER);
    }

    @Test
    void payloadOutsideTheStateDictIsAnInertPlaceholder() {
        try (TorchCheckpoint f = TorchCheckpoint.open(DIR.resolve("malicious.pth")); NDManager m = NDManager.newBaseManager()) {
            assertEquals(List.of("w"), f.keys());
            assertTrue(f.foreignGlobals().contains("posix.system"), f.foreignGlobals().toString());
            assertEquals(2, f.load("w", m).size());
        }
        assertFalse(Files.exists(MARKER), "the pickle's payload ran");
    }

    @Test
    void payloadInTheStateDictIsRefusedByName() {
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                () -> StateDicts.open(DIR.resolve("malicious_tensor.pth")));
        assertTrue(e.getMessage().contains("'evil'") && e.getMessage().contains("posix.system")
                && e.getMessage().contains("malicious_tensor.pth"), e.getMessage());
        assertFalse(Files.exists(MARKER), "the pickle's payload ran");
    }

    @Test
    void storageFromLoadFromBytesIsRefusedByName() {
        TorchCheckpointFormatException e = assertThrows(TorchCheckpointFormatException.class,
                () -> StateDicts.open(DIR.resolve("load_from_bytes.pth")));
        assertTrue(e.getMessage().contains("torch.storage._load_from_bytes") && e.getMessage().contains("REDUCE"),
                e.getMessage());
    }

    /** A resolver that allows nothing. */
    static final PickleResolver NOTHING = new PickleResolver() {
        @Override
        public boolean allows(PickleGlobal callee) {
            return false;
        }

        @Override
        public Object call(PickleGlobal callee, PickleTuple args) {
            throw new AssertionError("not allowed");
        }

        @Override
        public Object persistentLoad(Object pid) {
            return pid;
        }
    };

    @Test
    void dangerousGlobalsAreNeverLookedUpOrRun() throws IOException {
        // protocol 4: {'a': builtins.open('/tmp/MARKER', 'w'), 'b': builtins.eval('...'),
        //              'c': java.lang.Runtime.getRuntime(), 'd': subprocess.Popen(['touch', MARKER])}
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(new byte[] {(byte) 0x80, 4, '}', '('});
        call(p, "a", "builtins", "open", MARKER.toString());
        call(p, "b", "builtins", "eval", "__import__('os').system('touch " + MARKER + "')");
        call(p, "c", "java.lang.Runtime", "getRuntime", "x");
        call(p, "d", "subprocess", "Popen", "touch " + MARKER);
        p.write(new byte[] {'u', '.'});
        SafeUnpickler u = new SafeUnpickler(NOTHING);
        PickleDict d = assertInstanceOf(PickleDict.class, u.load(p.toByteArray()));
        assertEquals(List.of("builtins.open", "builtins.eval", "java.lang.Runtime.getRuntime", "subprocess.Popen"),
                List.copyOf(u.foreignGlobals()));
        PickleObject o = assertInstanceOf(PickleObject.class, d.get("a"));
        assertEquals(new PickleGlobal("builtins", "open"), o.global());
        assertEquals(MARKER.toString(), o.args().get(0));
        assertTrue(d.get("d").toString().startsWith("subprocess.Popen('touch "), d.get("d").toString());
        assertFalse(Files.exists(MARKER));
    }

    @Test
    void malformedPicklesNameOffsetAndOpcode() {
        PickleException e = assertThrows(PickleException.class,
                () -> new SafeUnpickler(NOTHING).load(new byte[] {(byte) 0x80, 2, ']', 'h', 7, '.'}));
        assertEquals(3, e.offset());
        assertTrue(e.getMessage().contains("BINGET") && e.getMessage().contains("memo entry 7"), e.getMessage());
        e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(new byte[] {(byte) 0x80, 2, 'a', '.'}));
        assertTrue(e.getMessage().contains("APPEND") && e.getMessage().contains("underflow"), e.getMessage());
        e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(new byte[] {'X', -1, -1, -1, 127, '.'}));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(new byte[] {'(', 'N', '.'}));
        assertTrue(e.getMessage().contains("MARK"), e.getMessage());
        e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(new byte[] {']', '}', 'h', 0, ']', 's', '.'}));
        assertTrue(e.getMessage().contains("memo") || e.getMessage().contains("unhashable"), e.getMessage());
        e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(new byte[] {'}', ']', 'N', 's', '.'}));
        assertTrue(e.getMessage().contains("unhashable list"), e.getMessage());
    }

    @Test
    void deepNestingNeitherRecursesNorOverflows() {
        // 200k nested lists and a 100k-deep tuple: the machine is iterative, descriptions are bounded
        int n = 200_000;
        byte[] b = new byte[2 * n + 2];
        for (int i = 0; i < n; i++) {
            b[i] = ']';
        }
        for (int i = 0; i < n - 1; i++) {
            b[n + i] = 'a';
        }
        b[2 * n - 1] = '.';
        Object o = new SafeUnpickler(NOTHING).load(java.util.Arrays.copyOf(b, 2 * n));
        assertTrue(o.toString().length() < 300);
        byte[] t = new byte[n + 3];
        t[0] = 'N';
        for (int i = 1; i <= n; i++) {
            t[i] = (byte) 0x85;
        }
        t[n + 1] = '.';
        Object tup = new SafeUnpickler(NOTHING).load(java.util.Arrays.copyOf(t, n + 2));
        assertTrue(tup.toString().length() < 300);
        // ...and such a tuple is refused as a dict key instead of being compared recursively
        byte[] k = new byte[n + 6];
        k[0] = '}';
        k[1] = 'N';
        for (int i = 2; i < n + 2; i++) {
            k[i] = (byte) 0x85;
        }
        k[n + 2] = 'N';
        k[n + 3] = 's';
        k[n + 4] = '.';
        PickleException e = assertThrows(PickleException.class,
                () -> new SafeUnpickler(NOTHING).load(java.util.Arrays.copyOf(k, n + 5)));
        assertTrue(e.getMessage().contains("unhashable tuple"), e.getMessage());
    }

    @Test
    void amplificationThroughTheMemoIsBounded() {
        // a list of 100k Nones, then set(that list) 10k times through the memo: ~170 KB of pickle asking
        // for a billion set elements
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(']');
        p.write('q');
        p.write(0);
        p.write('(');
        for (int i = 0; i < 100_000; i++) {
            p.write('N');
        }
        p.write('e');
        p.write('0');
        p.writeBytes("c__builtin__\nset\nq\u0001".getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < 10_000; i++) {
            p.writeBytes(new byte[] {'h', 1, 'h', 0, (byte) 0x85, 'R', '0'});
        }
        p.write('.');
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            PickleException e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(p.toByteArray()));
            assertTrue(e.getMessage().contains("size budget"), e.getMessage());
        });
        // two 20 KB keys differing only at the end, memoized, inserted into 200k small dicts: each insert
        // compares them in full (4e9 character comparisons for 1.8 MB of pickle): the work budget stops it
        ByteArrayOutputStream q = new ByteArrayOutputStream();
        for (int k = 0; k < 2; k++) {
            byte[] kb = ("k".repeat(20_000) + k).getBytes(StandardCharsets.UTF_8);
            q.write('X');
            q.writeBytes(new byte[] {(byte) kb.length, (byte) (kb.length >> 8), 0, 0});
            q.writeBytes(kb);
            q.writeBytes(new byte[] {'q', (byte) k, '0'});
        }
        for (int i = 0; i < 200_000; i++) {
            q.writeBytes(new byte[] {'}', 'h', 0, 'N', 's', 'h', 1, 'N', 's', '0'});
        }
        q.writeBytes(new byte[] {'N', '.'});
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            PickleException e = assertThrows(PickleException.class, () -> new SafeUnpickler(NOTHING).load(q.toByteArray()));
            assertTrue(e.getMessage().contains("work budget"), e.getMessage());
        });
    }

    private static void call(ByteArrayOutputStream p, String key, String module, String name, String arg) throws IOException {
        unicode(p, key);
        unicode(p, module);
        unicode(p, name);
        p.write(0x93);
        unicode(p, arg);
        p.write(new byte[] {(byte) 0x85, 'R'});
    }

    private static void unicode(ByteArrayOutputStream p, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.write(0x8c);
        p.write(b.length);
        p.write(b);
    }
}
