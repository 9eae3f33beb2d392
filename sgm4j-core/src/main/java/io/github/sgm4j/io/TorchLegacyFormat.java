package io.github.sgm4j.io;

import io.github.sgm4j.io.pickle.PickleException;
import io.github.sgm4j.io.pickle.PickleGlobal;
import io.github.sgm4j.io.pickle.PickleList;
import io.github.sgm4j.io.pickle.PickleResolver;
import io.github.sgm4j.io.pickle.PickleTuple;
import io.github.sgm4j.io.pickle.PickleValues;
import io.github.sgm4j.io.pickle.SafeUnpickler;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The layout of PyTorch's legacy non-zip checkpoints ({@code torch.save(...,
 * _use_new_zipfile_serialization=False)}, and every file saved by torch before 1.6, such as
 * torchvision's {@code vgg16-397923af.pth}): pickles back to back (the magic number, the format
 * version 1001, a {@code sys_info} dict, the object, the list of storage keys), then each listed
 * storage as an 8-byte little-endian element count followed by its raw bytes (little-endian on
 * every machine: torch converts on write and read, and ignores the {@code sys_info} byte order).
 *
 * <p>The object pickle is read twice by {@link SafeUnpickler}: first with nothing allowed, only to
 * find where it ends and the type (hence element size) of each storage it names; then, once the
 * storage section has been walked and every storage's byte range is known and checked against the
 * file size, with the {@link TorchResolver} allow-list, whose storages point at those ranges (so
 * tensors are read from the memory map, as in the zip format). Storage views of torch &lt; 0.4
 * (persistent ids with {@code (view_key, offset, size)}) become storages over a sub-range of their
 * root. The even older tar layout (members {@code storages}, {@code tensors}, {@code pickle}) is not
 * read.
 */
final class TorchLegacyFormat {

    /** The first pickle's value. */
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    /** The second pickle's value (torch's legacy protocol version). */
    static final long VERSION = 1001;

    /**
     * Each pickle is first read from a window of this many bytes, grown 16-fold (up to {@link
     * TorchCheckpoint#MAX_PICKLE} or the end of the file) while the unpickler reports it truncated.
     */
    private static final long FIRST_WINDOW = 1L << 20;

    /** What the layout yields: the unpickled object and its foreign globals. */
    record Parsed(Object top, Set<String> foreignGlobals) {}

    private final Path path;
    private final FileChannel channel;
    private final long size;

    private TorchLegacyFormat(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.size = channel.size();
    }

    /** Whether {@code head} (a file's first bytes) is a tar header: the layout of torch's oldest files. */
    static boolean isTar(byte[] head) {
        return head.length >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a'
                && head[261] == 'r';
    }

    /**
     * Reads the pickles and the storage section of a file that starts with a pickle.
     *
     * @throws TorchCheckpointFormatException naming the file, the part and the byte offset at fault
     */
    static Parsed read(Path path, FileChannel channel) throws IOException {
        return new TorchLegacyFormat(path, channel).read();
    }

    private Parsed read() throws IOException {
        Pickled magic = pickleAt(0, "first", new Scan());
        if (!(magic.value() instanceof BigInteger b && b.equals(MAGIC))) {
            throw bad("is a bare pickle, not a torch.save checkpoint (its first pickle is "
                    + PickleValues.describe(magic.value()) + ", not torch's legacy magic number 0x1950a86a20f9469cfc6c):"
                    + " save tensors with torch.save or convert them to safetensors");
        }
        Pickled version = pickleAt(magic.end(), "version", new Scan());
        if (!(version.value() instanceof Long v && v == VERSION)) {
            throw bad("legacy format version is " + PickleValues.describe(version.value()) + " (byte " + magic.end()
                    + "), not " + VERSION);
        }
        // sys_info (byte order, C type sizes) is ignored, as torch does: storages are written little-endian
        Pickled sysInfo = pickleAt(version.end(), "sys_info", new Scan());
        Scan scan = new Scan();
        long objStart = sysInfo.end();
        Pickled object = pickleAt(objStart, "object", scan);
        Pickled keys = pickleAt(object.end(), "storage key list", new Scan());
        if (!(keys.value() instanceof PickleList list)) {
            throw bad("the storage key list (pickle at byte " + object.end() + ") is a "
                    + PickleValues.typeName(keys.value()) + ", not a list");
        }
        Map<String, ZipIndex.Entry> storages = storages(list, scan, keys.end());
        long objLen = object.end() - objStart;
        SafeUnpickler u = new SafeUnpickler(TorchResolver.legacy(storages, scan.types));
        Object top;
        try {
            top = u.load(bytesAt(objStart, (int) objLen));
        } catch (PickleException e) {
            throw new TorchCheckpointFormatException(path + ": " + where("object", objStart, e) + e.getMessage(), e);
        }
        return new Parsed(top, u.foreignGlobals());
    }

    /** The storage section from {@code start}: one stored entry per listed key, bounds-checked. */
    private Map<String, ZipIndex.Entry> storages(PickleList list, Scan scan, long start) throws IOException {
        Map<String, ZipIndex.Entry> out = new LinkedHashMap<>();
        long p = start;
        for (Object k : list.items()) {
            if (!(k instanceof String key)) {
                throw bad("the storage key list holds " + PickleValues.describe(k) + ", not a string key");
            }
            if (out.containsKey(key)) {
                throw bad("storage " + PickleValues.describe(key) + " is listed twice in the storage key list");
            }
            String type = scan.types.get(key);
            if (type == null) {
                throw bad("storage " + PickleValues.describe(key) + " of the storage key list is not used by the object"
                        + " pickle");
            }
            int es = TorchResolver.elementSize(type);
            if (es <= 0) {
                throw bad("storage " + PickleValues.describe(key) + " has type " + type + ", whose element size sgm4j"
                        + " does not know, so the storages after it cannot be located");
            }
            if (size - p < 8) {
                throw bad("storage " + PickleValues.describe(key) + ": its element count at byte " + p + " is past the"
                        + " end of the file (" + size + " bytes): truncated file");
            }
            long count = ZipIndex.readAt(channel, p, 8).getLong();
            long left = size - p - 8;
            if (count < 0 || count > left / es) {
                throw bad("storage " + PickleValues.describe(key) + " at byte " + p + " declares " + count
                        + " elements of " + es + " bytes, but " + left + " bytes follow: truncated or corrupted file");
            }
            long bytes = count * es;
            out.put(key, new ZipIndex.Entry("storage " + key, 0, 0, bytes, bytes, 0, p + 8));
            p += 8 + bytes;
        }
        return out;
    }

    /** A pickle read at file byte {@code pos}: its value and the byte just past its STOP. */
    private record Pickled(Object value, long end) {}

    private Pickled pickleAt(long pos, String what, PickleResolver resolver) throws IOException {
        long limit = Math.min(size - pos, TorchCheckpoint.MAX_PICKLE);
        long window = Math.min(limit, FIRST_WINDOW);
        while (true) {
            SafeUnpickler u = new SafeUnpickler(resolver);
            try {
                Object v = u.load(bytesAt(pos, (int) window));
                return new Pickled(v, pos + u.end());
            } catch (PickleException e) {
                // only a pickle cut short by the window is read again from a larger one
                String msg = String.valueOf(e.getMessage());
                if (window < limit && (msg.contains("truncated") || msg.contains("bytes left"))) {
                    window = Math.min(limit, window * 16);
                    continue;
                }
                throw new TorchCheckpointFormatException(path + ": " + where(what, pos, e) + e.getMessage(), e);
            }
        }
    }

    /** Names the legacy pickle that failed and the file byte at fault (its offsets are within the pickle). */
    private static String where(String what, long start, PickleException e) {
        return "legacy " + what + " pickle at file byte " + start
                + (e.offset() >= 0 ? " (fault at file byte " + (start + e.offset()) + ")" : "") + ", ";
    }

    private byte[] bytesAt(long pos, int len) throws IOException {
        if (len <= 0) {
            return new byte[0];
        }
        ByteBuffer b = ZipIndex.readAt(channel, pos, len);
        return b.array();
    }

    private TorchCheckpointFormatException bad(String message) {
        return new TorchCheckpointFormatException(path + ": " + message);
    }

    /**
     * The first reading of a pickle: no global is allowed (everything becomes an inert placeholder);
     * the storage persistent ids are recorded (root key to storage type name, first use wins).
     */
    private static final class Scan implements PickleResolver {
        private final Map<String, String> types = new HashMap<>();

        @Override
        public boolean allows(PickleGlobal callee) {
            return false;
        }

        @Override
        public Object call(PickleGlobal callee, PickleTuple args) {
            throw new PickleException(callee + " is not on the allow-list");
        }

        @Override
        public Object persistentLoad(Object pid) {
            if (pid instanceof PickleTuple t && t.size() == 6 && "storage".equals(t.get(0))
                    && t.get(1) instanceof PickleGlobal type && t.get(2) instanceof String key) {
                types.putIfAbsent(key, type.name());
            }
            return pid;
        }
    }
}
