package io.github.sgm4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Reads tensor bytes of an open checkpoint with positional reads into one reusable direct buffer.
 *
 * <p>Neither a memory map nor a fresh buffer per tensor: pages of a mapped file count in the
 * process's resident memory for as long as the mapping lives (Java 17 cannot unmap before the
 * garbage collector does), and a direct buffer per tensor is only freed by the collector too, which
 * a load of a few thousand tensors may never run. With one buffer, loading a multi-GB checkpoint
 * costs the model's memory plus its largest tensor; the file itself only passes through the
 * kernel's page cache, which the kernel reclaims.
 *
 * <p>Not thread-safe, like the files that own one.
 */
final class TensorReads {

    private final Path path;
    private final FileChannel channel;
    private ByteBuffer scratch;

    TensorReads(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /**
     * The reusable buffer, cleared and limited to {@code bytes}, little-endian. Valid until the next
     * call; whatever is built from it must copy it (as {@code Tensors.create} does).
     */
    ByteBuffer buffer(int bytes) {
        if (scratch == null || scratch.capacity() < bytes) {
            long grown = scratch == null ? bytes : Math.max(bytes, 2L * scratch.capacity());
            scratch = ByteBuffer.allocateDirect((int) Math.min(grown, Integer.MAX_VALUE - 16));
        }
        scratch.clear().limit(bytes);
        return scratch.order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Fills {@code dst} from its position to its limit with the file's bytes from {@code pos}.
     *
     * @throws UncheckedIOException naming the file when it cannot be read or ends early
     */
    void readFully(long pos, ByteBuffer dst) {
        try {
            readFully(channel, dst, pos);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Fills {@code dst} from its position to its limit with the bytes of {@code ch} from {@code pos}.
     *
     * @throws IOException when the channel fails or ends before {@code dst} is full
     */
    static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        long p = pos;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, p);
            if (r < 0) {
                throw new IOException("unexpected end of file at byte " + p);
            }
            p += r;
        }
    }

    /** Drops the buffer (it is freed by the garbage collector). */
    void release() {
        scratch = null;
    }
}
