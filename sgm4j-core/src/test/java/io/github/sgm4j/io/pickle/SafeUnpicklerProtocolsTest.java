package io.github.sgm4j.io.pickle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One plain-Python structure pickled by CPython with protocols 0 to 5 ({@code protocolN.pkl}, written
 * by make_ckpts.py) reads back to the same values with every protocol.
 */
class SafeUnpicklerProtocolsTest {

    static final PickleResolver NOTHING = new PickleResolver() {
        @Override
        public boolean allows(PickleGlobal callee) {
            return false;
        }

        @Override
        public Object call(PickleGlobal callee, PickleTuple args) {
            throw new AssertionError();
        }

        @Override
        public Object persistentLoad(Object pid) {
            throw new PickleException("no persistent ids here");
        }
    };

    @Test
    void everyProtocolReadsTheSameValues() throws Exception {
        String first = null;
        for (int proto = 0; proto <= 5; proto++) {
            byte[] data = Files.readAllBytes(Path.of("src/test/resources/io/torch/protocol" + proto + ".pkl"));
            SafeUnpickler u = new SafeUnpickler(NOTHING);
            PickleDict d = assertInstanceOf(PickleDict.class, u.load(data), "protocol " + proto);
            String at = "protocol " + proto;
            assertEquals(List.of(0L, 1L, 255L, 256L, 65535L, 65536L, -1L, 2147483647L, -2147483648L, Long.MAX_VALUE,
                    Long.MIN_VALUE, BigInteger.TWO.pow(70), BigInteger.valueOf(3).pow(50).negate()),
                    ((PickleList) d.get("ints")).items(), at);
            assertEquals(List.of(0.0, -2.5, 1e300, Double.POSITIVE_INFINITY), ((PickleList) d.get("floats")).items(), at);
            assertEquals("h\u00e9llo \u2713 \uD83D\uDE00", d.get("text"), at);
            assertArrayEquals(new byte[] {0, -1, '\n'}, ((PickleBytes) d.get("bytes")).toByteArray(), at);
            PickleTuple consts = (PickleTuple) d.get("consts");
            assertNull(consts.get(0));
            assertEquals(List.of(true, false), consts.asList().subList(1, 3), at);
            PickleSet set = (PickleSet) d.get("set");
            assertEquals(List.of(1L, 2L, 3L), set.items(), at);
            assertTrue(((PickleSet) d.get("frozen")).isFrozen(), at);
            PickleDict ordered = (PickleDict) d.get("ordered");
            assertTrue(ordered.isOrdered(), at);
            assertEquals(List.of("k2", "k1"), ordered.keys(), at);
            PickleTuple shared = (PickleTuple) d.get("shared");
            assertSame(shared.get(0), shared.get(1), at + ": the memo shares one list");
            PickleObject ns = (PickleObject) d.get("ns");
            assertEquals(new PickleGlobal("argparse", "Namespace"), ns.global(), at);
            assertEquals(0.5, ((PickleDict) ns.state()).get("lr"), at);
            assertEquals(List.of("argparse.Namespace"), List.copyOf(u.foreignGlobals()), at);
            assertEquals("value", d.get(new PickleTuple(new Object[] {"tuple", "key"})), at);
            assertEquals("int key", d.get(7L), at);
            String all = PickleValues.describe(d);
            if (first == null) {
                first = all;
            }
            assertEquals(first, all, at);
        }
    }
}
