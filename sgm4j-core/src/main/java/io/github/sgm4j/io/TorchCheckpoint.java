package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.TorchResolver.Storage;
import io.github.sgm4j.io.TorchResolver.TensorRef;
import io.github.sgm4j.io.pickle.PickleDict;
import io.github.sgm4j.io.pickle.PickleException;
import io.github.sgm4j.io.pickle.PickleObject;
import io.github.sgm4j.io.pickle.PickleValues;
import io.github.sgm4j.io.pickle.SafeUnpickler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Predicate;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * An open PyTorch checkpoint in the zip format of {@code torch.save} (torch 1.6 and later): {@code
 * <root>/data.pkl} read by {@link SafeUnpickler}, which never executes code from the file, and the
 * tensors' storages {@code <root>/data/<key>} read lazily with positional reads into one reusable
 * native buffer (multi-GB checkpoints never enter the Java heap, and the file's pages never count in
 * the process's resident memory: see {@link TensorReads}). The legacy non-zip format
 * ({@code _use_new_zipfile_serialization=False}, and every file saved by torch before 1.6, e.g.
 * torchvision's {@code vgg16-397923af.pth}) is read the same way: its pickles by the same unpickler
 * and allow-list, its storages (located by {@link TorchLegacyFormat}, bounds-checked against the file
 * size) by the same positional reads.
 *
 * <p>Size: the archive checks, the choice between the zip and legacy layouts, the choice of the
 * state dict inside the pickled object (flat, {@code state_dict}, {@code model}, {@code module}), the
 * tensor bounds checks and the strided gather of a view belong together; a third of the file is
 * Javadoc.
 *
 * <p>The state dict is the top-level dict itself, or its {@code "state_dict"} entry (Lightning), or
 * else its {@code "model"} or {@code "module"} entry when that is a dict holding tensors. Its tensors
 * are the {@link #keys()}; its number, string and None entries, and those of the top-level dict
 * beside it ({@code global_step}, {@code epoch}, ...), are the {@link #metadata()}. Objects built
 * with a global outside the allow-list ({@code argparse.Namespace} hyper-parameters, Lightning
 * callbacks, numpy scalars, {@code posix.system}) become inert placeholders, listed by {@link
 * #foreignGlobals()}; such an object <em>inside the state dict</em> is refused with a {@link
 * TorchCheckpointFormatException} naming the key and the global. A bare pickle and torch's oldest tar
 * layout (torch &lt; 0.4) are refused with advice to re-save the file.
 *
 * <p>Storages are read straight from the file when stored uncompressed (as {@code torch.save} writes
 * them); an archive re-compressed with deflate still loads, but each storage used is inflated into
 * the heap and kept until {@link #close()}. A {@code byteorder} entry of {@code big} is honoured by
 * swapping bytes (legacy files are always little-endian).
 * Only the central directory's CRC of small entries ({@code data.pkl}, {@code byteorder}) and of
 * inflated storages is checked; stored storages are read as they are (the legacy format has no
 * checksums). Not
 * thread-safe: load from one thread at a time.
 */
public final class TorchCheckpoint implements StateDictFile {

    /** Largest {@code data.pkl} (or legacy object pickle) accepted (a full SDXL checkpoint's is a few MB). */
    static final long MAX_PICKLE = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final TensorReads reads;
    private final boolean bigEndian;
    private final boolean legacy;
    private final Map<String, TensorRef> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Set<String> foreignGlobals;
    private final String stateDictKey;
    private final Map<String, ByteBuffer> inflated = new HashMap<>();

    private TorchCheckpoint(Path path, FileChannel channel, boolean legacy) throws IOException {
        this.path = path;
        this.channel = channel;
        this.reads = new TensorReads(path, channel);
        Object top;
        if (legacy) {
            TorchLegacyFormat.Parsed p = TorchLegacyFormat.read(path, channel);
            this.legacy = true;
            this.bigEndian = false;
            this.foreignGlobals = Collections.unmodifiableSet(p.foreignGlobals());
            top = p.top();
        } else {
            Map<String, ZipIndex.Entry> entries = ZipIndex.read(path, channel);
            String root = root(entries);
            ZipIndex.Entry order = entries.get(root + "/byteorder");
            String byteorder = order == null ? "little"
                    : new String(entryBytes(order, 64), StandardCharsets.US_ASCII).strip();
            if (!byteorder.equals("little") && !byteorder.equals("big")) {
                throw bad(root + "/byteorder is '" + PickleValues.describe(byteorder) + "', not 'little' or 'big'");
            }
            this.legacy = false;
            this.bigEndian = byteorder.equals("big");
            SafeUnpickler u = new SafeUnpickler(new TorchResolver(root, entries));
            try {
                top = u.load(entryBytes(entries.get(root + "/data.pkl"), MAX_PICKLE));
            } catch (PickleException e) {
                throw new TorchCheckpointFormatException(path + ": " + root + "/data.pkl " + e.getMessage(), e);
            }
            this.foreignGlobals = Collections.unmodifiableSet(u.foreignGlobals());
        }
        this.stateDictKey = select(top);
    }

    /**
     * Opens a PyTorch checkpoint (zip or legacy format, chosen by content) and reads its pickle
     * (tensors are read later, on {@link #load}).
     *
     * @param path the {@code .ckpt} / {@code .pth} / {@code .pt} file
     * @return the open checkpoint; the caller closes it
     * @throws TorchCheckpointFormatException naming the file (and the entry, byte offset, opcode, key or
     *     global at fault) when the archive, the legacy layout or a pickle is malformed, the file is a
     *     bare pickle or a tar archive (torch's oldest layout), holds a refused object in its state dict,
     *     or a tensor reaches outside its storage
     * @throws UncheckedIOException if the file cannot be read
     */
    public static TorchCheckpoint open(Path path) {
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
            try {
                return new TorchCheckpoint(path, ch, checkMagic(path, ch));
            } catch (RuntimeException | IOException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read torch checkpoint " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@code head} (a file's first bytes, up to 512) starts like a zip, a pickle (the legacy
     * format) or a tar archive (torch's oldest layout): a torch checkpoint.
     */
    static boolean looksLikeTorch(byte[] head) {
        return (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
                || (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 0 && head[1] <= 5)
                || TorchLegacyFormat.isTar(head);
    }

    /** Whether the file is in the legacy format (it starts with a pickle); refuses tar and non-zip files. */
    private static boolean checkMagic(Path path, FileChannel ch) throws IOException {
        int n = (int) Math.min(ch.size(), 512);
        byte[] head = new byte[n];
        ZipIndex.readAt(ch, 0, n).get(head);
        if (n >= 2 && (head[0] & 0xff) == 0x80) {
            return true;
        }
        if (TorchLegacyFormat.isTar(head)) {
            throw new TorchCheckpointFormatException(path + " is a tar archive: PyTorch's oldest checkpoint layout"
                    + " (torch < 0.4: members storages, tensors, pickle), which sgm4j does not read: load it with torch"
                    + " and re-save it (torch.save(torch.load(f), f2)) or convert it to safetensors");
        }
        if (n < 4 || head[0] != 'P' || head[1] != 'K') {
            throw new TorchCheckpointFormatException(path + " is not a PyTorch checkpoint (it starts with neither a zip"
                    + " header nor a pickle)");
        }
        return false;
    }

    private String root(Map<String, ZipIndex.Entry> entries) {
        String root = null;
        for (String name : entries.keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                if (root != null) {
                    throw bad("the archive holds two data.pkl entries (" + root + "/data.pkl, " + name + ")");
                }
                root = name.substring(0, slash);
            }
        }
        if (root == null) {
            boolean script = entries.keySet().stream().anyMatch(k -> k.endsWith("/constants.pkl"));
            throw bad(script ? "is a TorchScript archive (torch.jit.save), not a checkpoint of tensors"
                    : "the zip archive has no <root>/data.pkl entry: not a torch.save checkpoint");
        }
        return root;
    }

    // ---- the state dict inside the pickled object

    private String select(Object top) {
        if (!(top instanceof PickleDict d)) {
            if (top instanceof PickleObject o) {
                throw bad("the pickled object is a " + o.global() + " (" + PickleValues.describe(o) + "), not a dict of"
                        + " tensors: a whole pickled module (torch.save(model))? Save model.state_dict() instead");
            }
            throw bad("the pickled object is a " + PickleValues.typeName(top) + ", not a dict of tensors");
        }
        String key = null;
        PickleDict sd = d;
        if (d.get("state_dict") instanceof PickleDict s) {
            key = "state_dict";
            sd = s;
        } else {
            for (String k : List.of("model", "module")) {
                if (d.get(k) instanceof PickleDict s && s.values().stream().anyMatch(v -> v instanceof TensorRef)) {
                    key = k;
                    sd = s;
                    break;
                }
            }
        }
        if (key != null) {
            for (int i = 0; i < d.size(); i++) {
                if (d.keys().get(i) instanceof String k && !k.equals(key)) {
                    String v = scalar(d.values().get(i));
                    if (v != null) {
                        metadata.put(k, v);
                    }
                }
            }
        }
        String where = key == null ? "state dict" : "state dict '" + key + "'";
        for (int i = 0; i < sd.size(); i++) {
            Object k = sd.keys().get(i);
            Object v = sd.values().get(i);
            if (!(k instanceof String name)) {
                throw bad(where + " has a key " + PickleValues.describe(k) + " that is not a string");
            }
            if (v instanceof TensorRef t) {
                validate(name, t);
                tensors.put(name, t);
            } else if (v instanceof PickleObject o) {
                throw bad(where + " entry '" + name + "' is a " + PickleValues.describe(o) + " object: global "
                        + o.global() + " is not on the allow-list, so it was neither looked up nor run; refused");
            } else if (scalar(v) != null) {
                metadata.putIfAbsent(name, scalar(v));
            } else {
                throw bad(where + " entry '" + name + "' is a " + PickleValues.typeName(v) + ", not a tensor: sgm4j reads"
                        + " flat state dicts ({name: tensor}, optionally under 'state_dict', 'model' or 'module')");
            }
        }
        return key;
    }

    private static String scalar(Object v) {
        if (v == null) {
            return "None";
        } else if (v instanceof Boolean b) {
            return b ? "True" : "False";
        } else if (v instanceof Long || v instanceof BigInteger || v instanceof Double || v instanceof String) {
            return v.toString();
        }
        return null;
    }

    private void validate(String name, TensorRef t) {
        Storage s = t.storage();
        if (s.dtype() == null) {
            throw bad("tensor '" + name + "' has storage type " + s.typeName() + ", which sgm4j does not read (supported:"
                    + " Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool)");
        }
        long numel;
        long last = t.offset();
        try {
            numel = SafeTensorsHeader.numel(t.size(), "tensor '" + name + "'");
            if (numel > 0) {
                for (int i = 0; i < t.size().length; i++) {
                    last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
                }
            }
        } catch (ArithmeticException | SafeTensorsFormatException e) {
            throw bad("tensor '" + name + "': size " + Arrays.toString(t.size()) + " / stride " + Arrays.toString(t.stride())
                    + " overflow 64 bits");
        }
        if (numel > 0 && last >= s.numel()) {
            throw bad("tensor '" + name + "' (offset " + t.offset() + ", size " + Arrays.toString(t.size()) + ", stride "
                    + Arrays.toString(t.stride()) + ") reaches element " + last + " of storage '" + s.key() + "', which has "
                    + s.numel());
        }
    }

    // ---- public API

    @Override
    public Path path() {
        return path;
    }

    @Override
    public List<String> keys() {
        return new ArrayList<>(tensors.keySet());
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The dtype and shape of {@code name}; {@code begin}/{@code end} are the byte range of its first
     * element to the end of a contiguous tensor of its size, within its storage entry.
     *
     * @param name the tensor name
     * @return the entry
     * @throws IllegalArgumentException if there is no such tensor
     */
    @Override
    public TensorInfo info(String name) {
        TensorRef t = ref(name);
        SafeTensorsDtype dt = t.storage().dtype();
        long begin = t.offset() * dt.size();
        long numel = SafeTensorsHeader.numel(t.size(), name);
        return new TensorInfo(name, dt.name(), t.size().clone(), begin, begin + numel * dt.size());
    }

    @Override
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Lightning's {@code global_step}, when the checkpoint records one.
     *
     * @return the step, or empty
     */
    public OptionalLong globalStep() {
        String s = metadata.get("global_step");
        try {
            return s == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(s));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * Whether the file is in torch's legacy non-zip format ({@code _use_new_zipfile_serialization=False}
     * or torch before 1.6).
     *
     * @return true for a legacy file
     */
    public boolean isLegacy() {
        return legacy;
    }

    /**
     * Where the state dict was found in the pickled object.
     *
     * @return {@code "state_dict"}, {@code "model"} or {@code "module"}, or null when the top-level dict
     *     is the state dict
     */
    public String stateDictKey() {
        return stateDictKey;
    }

    /**
     * The globals of the file that are not on the allow-list and became inert placeholders (anywhere
     * in the pickle: hyper-parameters, callbacks, optimizer state...), e.g. {@code argparse.Namespace}.
     *
     * @return qualified names in order of first use, unmodifiable
     */
    public Set<String> foreignGlobals() {
        return foreignGlobals;
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        return load(name, manager, null);
    }

    /**
     * Loads {@code name} (contiguous or strided view, gathered in Java) and converts it to {@code
     * target}; BF16 is widened to FLOAT32 and I16 to INT32 first, as {@link SafeTensorsFile} does.
     *
     * @param name the tensor name
     * @param manager the manager that owns the result
     * @param target the dtype of the result, or null for the stored dtype
     * @return a new array (the caller owns it); it stays valid after this file is closed
     * @throws IllegalArgumentException if there is no such tensor
     * @throws TorchCheckpointFormatException if the tensor exceeds 2 GiB or its storage entry is corrupted
     */
    @Override
    public NDArray load(String name, NDManager manager, DataType target) {
        TensorRef t = ref(name);
        SafeTensorsDtype dt = t.storage().dtype();
        long numel = SafeTensorsHeader.numel(t.size(), name);
        long bytes = numel * dt.size();
        if (bytes > Integer.MAX_VALUE - 16) {
            throw bad("tensor '" + name + "' has " + bytes + " bytes; single tensors above 2 GiB are not supported");
        }
        ByteBuffer raw = reads.buffer((int) bytes);
        if (numel > 0) {
            gather(t, dt.size(), raw);
        }
        if (bigEndian) {
            swap(raw, dt.size());
        }
        ByteBuffer data = dt.toEngineBytes(raw);
        NDArray a = Tensors.create(manager, data.order(ByteOrder.nativeOrder()), new Shape(t.size()), dt.engineType());
        if (target != null && target != a.getDataType()) {
            NDArray c = a.toType(target, false);
            a.close();
            a = c;
        }
        return a;
    }

    @Override
    public Map<String, NDArray> loadAll(NDManager manager) {
        return loadAll(manager, null, k -> true);
    }

    @Override
    public Map<String, NDArray> loadAll(NDManager manager, DataType target) {
        return loadAll(manager, target, k -> true);
    }

    @Override
    public Map<String, NDArray> loadAll(NDManager manager, DataType target, Predicate<String> filter) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String k : tensors.keySet()) {
            if (filter.test(k)) {
                out.put(k, load(k, manager, target));
            }
        }
        return out;
    }

    @Override
    public void close() {
        reads.release();
        inflated.clear();
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TensorRef ref(String name) {
        TensorRef t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
        }
        return t;
    }

    // ---- reading storages

    /** Copies the elements of view {@code t} in row-major order into {@code dst} (runs of the last dim at once). */
    private void gather(TensorRef t, int es, ByteBuffer dst) {
        long[] size = t.size();
        long[] stride = t.stride();
        int nd = size.length;
        if (contiguous(size, stride)) {
            read(t.storage(), t.offset() * es, dst, 0, dst.limit());
            return;
        }
        // a strided view: read the span of the storage it covers once, then gather in memory (one
        // positional read per element of a transposed view would be a system call per element)
        long last = t.offset();
        for (int d = 0; d < nd; d++) {
            last += (size[d] - 1) * stride[d];
        }
        long spanBytes = (last - t.offset() + 1) * es;
        if (spanBytes > Integer.MAX_VALUE - 16) {
            throw bad("strided tensor covers " + spanBytes + " bytes of its storage; views above 2 GiB are not supported");
        }
        ByteBuffer span = ByteBuffer.allocate((int) spanBytes);
        read(t.storage(), t.offset() * es, span, 0, (int) spanBytes);
        boolean unitLast = stride[nd - 1] == 1;
        int outer = unitLast ? nd - 1 : nd;
        int run = (int) ((unitLast ? size[nd - 1] : 1) * es);
        long[] idx = new long[outer];
        int out = 0;
        while (true) {
            long off = 0;
            for (int d = 0; d < outer; d++) {
                off += idx[d] * stride[d];
            }
            dst.put(out, span, (int) (off * es), run);
            out += run;
            int d = outer - 1;
            while (d >= 0 && ++idx[d] == size[d]) {
                idx[d] = 0;
                d--;
            }
            if (d < 0) {
                return;
            }
        }
    }

    private static boolean contiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            if (size[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }

    private void read(Storage s, long byteOffset, ByteBuffer dst, int dstPos, int len) {
        ZipIndex.Entry e = s.entry();
        if (e.method() == 0) {
            reads.readFully(e.dataOffset() + byteOffset, dst.duplicate().limit(dstPos + len).position(dstPos));
        } else {
            ByteBuffer b = inflated.get(e.name());
            if (b == null) {
                b = ByteBuffer.wrap(entryBytes(e, Integer.MAX_VALUE - 16));
                inflated.put(e.name(), b);
            }
            dst.put(dstPos, b, (int) byteOffset, len);
        }
    }

    /** The whole (small or deflated) entry {@code e}, CRC-checked, at most {@code max} bytes. */
    private byte[] entryBytes(ZipIndex.Entry e, long max) {
        if ((e.flags() & 1) != 0) {
            throw bad("entry " + e.name() + " is encrypted");
        }
        if (e.size() > max) {
            throw bad("entry " + e.name() + " has " + e.size() + " bytes (at most " + max + " are read)");
        }
        byte[] out = new byte[(int) e.size()];
        if (e.method() == 0) {
            if (e.compressedSize() != e.size()) {
                throw bad("stored entry " + e.name() + " has compressed size " + e.compressedSize() + " != size " + e.size());
            }
            read(new Storage(e.name(), "", null, 0, e), 0, ByteBuffer.wrap(out), 0, out.length);
        } else if (e.method() == 8) {
            inflate(e, out);
        } else {
            throw bad("entry " + e.name() + " uses zip compression method " + e.method() + " (stored and deflate are read)");
        }
        CRC32 crc = new CRC32();
        crc.update(out);
        if ((int) crc.getValue() != e.crc()) {
            throw bad("entry " + e.name() + " fails its CRC check: the file is corrupted");
        }
        return out;
    }

    private void inflate(ZipIndex.Entry e, byte[] out) {
        if (e.size() > e.compressedSize() * 1032 + 1024) {
            throw bad("entry " + e.name() + " claims " + e.size() + " bytes from " + e.compressedSize()
                    + " compressed bytes, more than deflate can produce");
        }
        if (e.compressedSize() > Integer.MAX_VALUE - 16) {
            throw bad("compressed entry " + e.name() + " is larger than 2 GiB");
        }
        byte[] in = new byte[(int) e.compressedSize()];
        read(new Storage(e.name(), "", null, 0, new ZipIndex.Entry(e.name(), 0, 0, in.length, in.length, 0,
                e.dataOffset())), 0, ByteBuffer.wrap(in), 0, in.length);
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in);
            int n = 0;
            while (n < out.length) {
                int r = inf.inflate(out, n, out.length - n);
                if (r == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += r;
            }
            if (n != out.length) {
                throw bad("entry " + e.name() + " inflates to " + n + " bytes, its header says " + out.length);
            }
        } catch (DataFormatException x) {
            throw new TorchCheckpointFormatException(path + ": entry " + e.name() + " is not valid deflate data", x);
        } finally {
            inf.end();
        }
    }

    private static void swap(ByteBuffer b, int es) {
        if (es == 1) {
            return;
        }
        byte[] tmp = new byte[es];
        for (int p = 0; p + es <= b.limit(); p += es) {
            b.get(p, tmp);
            for (int i = 0; i < es; i++) {
                b.put(p + i, tmp[es - 1 - i]);
            }
        }
    }

    private TorchCheckpointFormatException bad(String message) {
        return new TorchCheckpointFormatException(path + ": " + message);
    }
}
