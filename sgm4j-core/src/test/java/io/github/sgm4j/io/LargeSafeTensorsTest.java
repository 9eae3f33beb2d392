package io.github.sgm4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file above 2 GiB, built on the fly, is read lazily without heap growth. */
@Tag("slow")
class LargeSafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void readsTensorsBeyond2GiBWithoutHeapGrowth() throws IOException {
        long big = 2_200_000_000L / 4 * 4; // F32 padding tensor of ~2.2 GB
        long n = big / 4;
        String header = "{\"pad\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + big + "," + (big + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        Path f = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer hb = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            hb.putLong(padded).put(h);
            while (hb.hasRemaining()) {
                hb.put((byte) ' ');
            }
            hb.flip();
            ch.write(hb);
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(42f).flip();
            ch.write(tail, 8 + padded + big); // sparse file: the padding tensor reads as zeros
        }
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile st = SafeTensors.open(f)) {
            NDArray tail = st.load("tail", m);
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 42f}, tail.toFloatArray());
            System.gc();
            long after = rt.totalMemory() - rt.freeMemory();
            assertTrue(after - before < 100L << 20, "heap grew by " + ((after - before) >> 20) + " MiB");
        }
    }
}
