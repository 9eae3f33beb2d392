package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A zip64 torch checkpoint above 4 GiB (sparse, built on the fly: a 4.5 GB storage, then a small
 * one past the 4 GiB mark) is read from the memory map without heap growth; likewise a legacy
 * non-zip checkpoint of the same storages.
 */
@Tag("slow")
class LargeTorchCheckpointTest {

    @TempDir
    Path dir;

    private static final long PAD = 4_500_000_000L / 4 * 4;

    @Test
    void readsZip64CheckpointsBeyond4GiBWithoutHeapGrowth() throws IOException {
        Path f = dir.resolve("big.ckpt");
        byte[] pkl = TorchCheckpointWriter.pickle(List.of(
                new TorchCheckpointWriter.Spec("pad", "FloatStorage", "0", PAD / 4, new long[] {PAD / 4}),
                new TorchCheckpointWriter.Spec("tail", "FloatStorage", "1", 4, new long[] {4})), null).toByteArray();
        ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        tail.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(42f);
        byte[] tailBytes = tail.array();
        CRC32 c = new CRC32();
        c.update(pkl);
        int pklCrc = (int) c.getValue();
        c.reset();
        c.update(tailBytes);
        int tailCrc = (int) c.getValue();
        c.reset();
        c.update(new byte[0]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long o0 = 0;
            long pos = local(ch, o0, "archive/data.pkl", pkl.length, pklCrc);
            ch.write(ByteBuffer.wrap(pkl), pos);
            long o1 = pos + pkl.length;
            long pad0 = local(ch, o1, "archive/data/0", PAD, 0); // the CRC of the sparse zeros is not checked
            long o2 = pad0 + PAD;
            long tail0 = local(ch, o2, "archive/data/1", 16, tailCrc);
            ch.write(ByteBuffer.wrap(tailBytes), tail0);
            long cd = tail0 + 16;
            long p = cd;
            p = central(ch, p, "archive/data.pkl", pkl.length, pklCrc, o0);
            p = central(ch, p, "archive/data/0", PAD, 0, o1);
            p = central(ch, p, "archive/data/1", 16, tailCrc, o2);
            long z64 = p;
            ByteBuffer e = ByteBuffer.allocate(56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
            e.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(3).putLong(3).putLong(z64 - cd).putLong(cd);
            e.putInt(0x07064b50).putInt(0).putLong(z64).putInt(1);
            e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 0xffff).putShort((short) 0xffff)
                    .putInt(-1).putInt(-1).putShort((short) 0);
            ch.write(e.flip(), z64);
        }
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        try (NDManager m = NDManager.newBaseManager(); TorchCheckpoint ck = TorchCheckpoint.open(f)) {
            assertArrayEquals(new long[] {PAD / 4}, ck.info("pad").shape());
            NDArray t = ck.load("tail", m);
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 42f}, t.toFloatArray());
            TorchCheckpointFormatException big = assertThrows(TorchCheckpointFormatException.class, () -> ck.load("pad", m));
            assertTrue(big.getMessage().contains("above 2 GiB"), big.getMessage());
            System.gc();
            long after = rt.totalMemory() - rt.freeMemory();
            assertTrue(after - before < 100L << 20, "heap grew by " + ((after - before) >> 20) + " MiB");
        }
    }

    @Test
    void readsLegacyCheckpointsBeyond4GiBWithoutHeapGrowth() throws IOException {
        Path f = dir.resolve("big_legacy.pth");
        List<TorchCheckpointWriter.Spec> specs = List.of(
                new TorchCheckpointWriter.Spec("pad", "FloatStorage", "0", PAD / 4, new long[] {PAD / 4}),
                new TorchCheckpointWriter.Spec("tail", "FloatStorage", "1", 4, new long[] {4}));
        java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
        head.write(TorchCheckpointWriter.legacyHeader());
        head.write(TorchCheckpointWriter.pickle(specs, null, true).toByteArray());
        head.write(TorchCheckpointWriter.legacyKeys(specs));
        head.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(PAD / 4).array());
        ByteBuffer tail = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        tail.putLong(4).putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(42f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(head.toByteArray()), 0);
            ch.write(tail.flip(), head.size() + PAD);
        }
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        try (NDManager m = NDManager.newBaseManager(); TorchCheckpoint ck = TorchCheckpoint.open(f)) {
            assertTrue(ck.isLegacy());
            assertArrayEquals(new long[] {PAD / 4}, ck.info("pad").shape());
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 42f}, ck.load("tail", m).toFloatArray());
            TorchCheckpointFormatException big = assertThrows(TorchCheckpointFormatException.class, () -> ck.load("pad", m));
            assertTrue(big.getMessage().contains("above 2 GiB"), big.getMessage());
            System.gc();
            long after = rt.totalMemory() - rt.freeMemory();
            assertTrue(after - before < 100L << 20, "heap grew by " + ((after - before) >> 20) + " MiB");
        }
    }

    /** A zip64 local header at {@code at}; returns where the data starts. */
    private static long local(FileChannel ch, long at, String name, long size, int crc) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(30 + n.length + 20).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putInt(crc).putInt(-1).putInt(-1).putShort((short) n.length).putShort((short) 20).put(n);
        b.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        ch.write(b.flip(), at);
        return at + 30 + n.length + 20;
    }

    /** A zip64 central-directory entry at {@code at}; returns the position after it. */
    private static long central(FileChannel ch, long at, String name, long size, int crc, long lho) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(46 + n.length + 28).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0).putInt(crc).putInt(-1).putInt(-1).putShort((short) n.length)
                .putShort((short) 28).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt(-1).put(n);
        b.putShort((short) 1).putShort((short) 24).putLong(size).putLong(size).putLong(lho);
        ch.write(b.flip(), at);
        return at + 46 + n.length + 28;
    }
}
