package io.github.sgm4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip file (zip64 included), read without {@code java.util.zip} so that
 * each entry's data offset is known and stored entries can be read straight from a memory map.
 * Every offset and length is checked against the file size; a violation is a {@link
 * TorchCheckpointFormatException} naming the file.
 */
final class ZipIndex {

    /** One entry: where its data starts in the file and how it is stored. */
    record Entry(String name, int method, int flags, long compressedSize, long size, int crc, long dataOffset) {}

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;

    private ZipIndex() {}

    static Map<String, Entry> read(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        int tailLen = (int) Math.min(size, 22 + 65535);
        ByteBuffer tail = readAt(ch, size - tailLen, tailLen);
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD && i + 22 + (tail.getShort(i + 20) & 0xffff) <= tailLen) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw bad(path, "no zip end-of-central-directory record: the file is truncated or not a zip");
        }
        long eocdPos = size - tailLen + eocd;
        long count = tail.getShort(eocd + 10) & 0xffff;
        long cdSize = tail.getInt(eocd + 12) & 0xffffffffL;
        long cdOffset = tail.getInt(eocd + 16) & 0xffffffffL;
        long cdEnd = eocdPos;
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            if (eocdPos < 20) {
                throw bad(path, "zip64 end-of-central-directory locator missing");
            }
            ByteBuffer loc = readAt(ch, eocdPos - 20, 20);
            if (loc.getInt(0) != ZIP64_LOCATOR) {
                throw bad(path, "zip64 end-of-central-directory locator missing");
            }
            long z = loc.getLong(8);
            if (z < 0 || z > eocdPos - 56) {
                throw bad(path, "zip64 end-of-central-directory offset " + z + " is outside the file");
            }
            ByteBuffer r = readAt(ch, z, 56);
            if (r.getInt(0) != ZIP64_EOCD) {
                throw bad(path, "zip64 end-of-central-directory record missing at " + z);
            }
            count = r.getLong(32);
            cdSize = r.getLong(40);
            cdOffset = r.getLong(48);
            cdEnd = z;
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdEnd || cdSize > cdEnd - cdOffset) {
            throw bad(path, "central directory [" + cdOffset + ", +" + cdSize + "] lies outside the file (" + size
                    + " bytes): truncated?");
        }
        if (cdSize > Integer.MAX_VALUE - 16 || count < 0 || count > cdSize / 46) {
            throw bad(path, "central directory of " + cdSize + " bytes cannot hold " + count + " entries");
        }
        ByteBuffer cd = readAt(ch, cdOffset, (int) cdSize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CENTRAL) {
                throw bad(path, "central directory entry " + i + " is malformed");
            }
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            int crc = cd.getInt(p + 16);
            long csize = cd.getInt(p + 20) & 0xffffffffL;
            long usize = cd.getInt(p + 24) & 0xffffffffL;
            int nameLen = cd.getShort(p + 28) & 0xffff;
            int extraLen = cd.getShort(p + 30) & 0xffff;
            int commentLen = cd.getShort(p + 32) & 0xffff;
            long lho = cd.getInt(p + 42) & 0xffffffffL;
            if (p + 46L + nameLen + extraLen + commentLen > cd.limit()) {
                throw bad(path, "central directory entry " + i + " runs past the directory");
            }
            byte[] nb = new byte[nameLen];
            cd.get(p + 46, nb);
            String name = new String(nb, StandardCharsets.UTF_8);
            int x = p + 46 + nameLen;
            int xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xffff;
                int len = cd.getShort(x + 2) & 0xffff;
                int q = x + 4;
                if (q + len > xEnd) {
                    break;
                }
                if (id == 0x0001) {
                    int qEnd = q + len;
                    if (usize == 0xffffffffL && q + 8 <= qEnd) {
                        usize = cd.getLong(q);
                        q += 8;
                    }
                    if (csize == 0xffffffffL && q + 8 <= qEnd) {
                        csize = cd.getLong(q);
                        q += 8;
                    }
                    if (lho == 0xffffffffL && q + 8 <= qEnd) {
                        lho = cd.getLong(q);
                    }
                }
                x += 4 + len;
            }
            p += 46 + nameLen + extraLen + commentLen;
            if (lho < 0 || lho > cdOffset - 30 || csize < 0 || usize < 0) {
                throw bad(path, "entry '" + name + "': local header offset " + lho + " or sizes are out of range");
            }
            ByteBuffer lh = readAt(ch, lho, 30);
            if (lh.getInt(0) != LOCAL) {
                throw bad(path, "entry '" + name + "': no local header at offset " + lho);
            }
            long dataOffset = lho + 30 + (lh.getShort(26) & 0xffff) + (lh.getShort(28) & 0xffff);
            if (dataOffset > cdOffset || csize > cdOffset - dataOffset) {
                throw bad(path, "entry '" + name + "': data [" + dataOffset + ", +" + csize
                        + "] runs past the entries (the file is truncated or corrupted)");
            }
            if (entries.put(name, new Entry(name, method, flags, csize, usize, crc, dataOffset)) != null) {
                throw bad(path, "entry '" + name + "' appears twice");
            }
        }
        return entries;
    }

    static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        TensorReads.readFully(ch, b, pos);
        return b.flip();
    }

    private static TorchCheckpointFormatException bad(Path path, String message) {
        return new TorchCheckpointFormatException(path + ": " + message);
    }
}
