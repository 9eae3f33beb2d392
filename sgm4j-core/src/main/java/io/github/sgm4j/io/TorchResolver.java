package io.github.sgm4j.io;

import io.github.sgm4j.io.pickle.PickleException;
import io.github.sgm4j.io.pickle.PickleGlobal;
import io.github.sgm4j.io.pickle.PickleObject;
import io.github.sgm4j.io.pickle.PickleResolver;
import io.github.sgm4j.io.pickle.PickleTuple;
import io.github.sgm4j.io.pickle.PickleValues;
import java.util.Map;

/**
 * The allow-list of a PyTorch checkpoint's {@code data.pkl}: the tensor rebuild functions of {@code
 * torch._utils} ({@code _rebuild_tensor_v2}, {@code _rebuild_tensor}, {@code _rebuild_parameter},
 * {@code _rebuild_parameter_with_state}), {@code torch._tensor._rebuild_from_type_v2} for plain
 * tensors and parameters, and {@code torch.Size}; persistent ids {@code ('storage', torch.XStorage,
 * key, location, numel)} resolve to the archive's {@code data/<key>} entries; in the legacy non-zip
 * format ({@link #legacy}), persistent ids {@code ('storage', torch[.cuda].XStorage, root_key,
 * location, numel, view)} resolve to the storages located by {@link TorchLegacyFormat} (a view {@code
 * (view_key, offset, size)} to a sub-range of its root). Everything else
 * (including {@code torch.storage._load_from_bytes}, which would run {@code torch.load} on embedded
 * bytes) stays a placeholder and is refused where a tensor is needed.
 */
final class TorchResolver implements PickleResolver {

    /** A storage of the archive: entry {@code data/<key>}, typed by its pickled storage class. */
    record Storage(String key, String typeName, SafeTensorsDtype dtype, long numel, ZipIndex.Entry entry) {}

    /** A tensor view of a storage: element offset, size and stride (in elements). */
    record TensorRef(Storage storage, long offset, long[] size, long[] stride) {}

    private static final int MAX_DIMS = 64;

    private static final Map<String, SafeTensorsDtype> STORAGE_TYPES = Map.ofEntries(
            Map.entry("FloatStorage", SafeTensorsDtype.F32),
            Map.entry("DoubleStorage", SafeTensorsDtype.F64),
            Map.entry("HalfStorage", SafeTensorsDtype.F16),
            Map.entry("BFloat16Storage", SafeTensorsDtype.BF16),
            Map.entry("LongStorage", SafeTensorsDtype.I64),
            Map.entry("IntStorage", SafeTensorsDtype.I32),
            Map.entry("ShortStorage", SafeTensorsDtype.I16),
            Map.entry("CharStorage", SafeTensorsDtype.I8),
            Map.entry("ByteStorage", SafeTensorsDtype.U8),
            Map.entry("BoolStorage", SafeTensorsDtype.BOOL),
            Map.entry("UntypedStorage", SafeTensorsDtype.U8));

    /** Element sizes of storage types sgm4j locates in a legacy file but does not load. */
    private static final Map<String, Integer> OTHER_SIZES = Map.of("ComplexFloatStorage", 8, "ComplexDoubleStorage", 16,
            "QInt8Storage", 1, "QUInt8Storage", 1, "QInt32Storage", 4, "QUInt4x2Storage", 1, "QUInt2x4Storage", 1);

    private final String root;
    private final Map<String, ZipIndex.Entry> entries;
    private final Map<String, String> legacyTypes;

    TorchResolver(String root, Map<String, ZipIndex.Entry> entries) {
        this(root, entries, null);
    }

    private TorchResolver(String root, Map<String, ZipIndex.Entry> entries, Map<String, String> legacyTypes) {
        this.root = root;
        this.entries = entries;
        this.legacyTypes = legacyTypes;
    }

    /**
     * The resolver of a legacy non-zip file.
     *
     * @param storages the root storages by key: stored entries over their raw bytes in the file
     * @param types the storage type name (e.g. {@code FloatStorage}) by root key, as first used
     * @return the resolver
     */
    static TorchResolver legacy(Map<String, ZipIndex.Entry> storages, Map<String, String> types) {
        return new TorchResolver(null, storages, types);
    }

    /**
     * The element size of storage type {@code name} ({@code FloatStorage}, ...), or -1 when unknown.
     *
     * @param name the simple class name
     * @return the size in bytes, or -1
     */
    static int elementSize(String name) {
        SafeTensorsDtype dt = STORAGE_TYPES.get(name);
        if (dt != null) {
            return name.equals("UntypedStorage") ? 1 : dt.size();
        }
        return OTHER_SIZES.getOrDefault(name, -1);
    }

    @Override
    public boolean allows(PickleGlobal g) {
        return switch (g.module()) {
            case "torch._utils" -> switch (g.name()) {
                case "_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter", "_rebuild_parameter_with_state" -> true;
                default -> false;
            };
            case "torch._tensor" -> g.name().equals("_rebuild_from_type_v2");
            case "torch" -> g.name().equals("Size");
            default -> false;
        };
    }

    @Override
    public Object call(PickleGlobal g, PickleTuple args) {
        switch (g.name()) {
            case "_rebuild_tensor_v2" -> {
                if (args.size() != 6 && args.size() != 7) {
                    throw new PickleException(g + " takes 6 or 7 arguments, got " + args.size());
                }
                return tensor(g, args);
            }
            case "_rebuild_tensor" -> {
                if (args.size() != 4) {
                    throw new PickleException(g + " takes 4 arguments, got " + args.size());
                }
                return tensor(g, args);
            }
            case "_rebuild_parameter", "_rebuild_parameter_with_state" -> {
                if (args.size() < 1 || !(args.get(0) instanceof TensorRef t)) {
                    throw new PickleException(g + " needs a tensor as its first argument, got "
                            + (args.size() == 0 ? "nothing" : PickleValues.typeName(args.get(0))));
                }
                return t;
            }
            case "_rebuild_from_type_v2" -> {
                if (args.size() != 4 || !(args.get(0) instanceof PickleGlobal func) || !(args.get(1) instanceof PickleGlobal type)
                        || !(args.get(2) instanceof PickleTuple inner)) {
                    throw new PickleException(g + " takes (function, type, args, state), got " + PickleValues.describe(args));
                }
                if (!type.is("torch", "Tensor") && !type.is("torch.nn.parameter", "Parameter")) {
                    throw new PickleException(g + ": tensor subclass " + type + " is not supported (only torch.Tensor and"
                            + " torch.nn.Parameter)");
                }
                if (!func.module().equals("torch._utils") || !allows(func)) {
                    throw new PickleException(g + ": rebuild function " + func + " is not on the allow-list");
                }
                return call(func, inner);
            }
            case "Size" -> {
                if (args.size() != 1 || !(args.get(0) instanceof PickleTuple dims)) {
                    throw new PickleException("torch.Size takes one tuple, got " + PickleValues.describe(args));
                }
                longs(g, dims, "size");
                return dims;
            }
            default -> throw new PickleException(g + " is not on the allow-list");
        }
    }

    private Object tensor(PickleGlobal g, PickleTuple args) {
        Object s = args.get(0);
        if (!(s instanceof Storage storage)) {
            if (s instanceof PickleObject p) {
                throw new PickleException(g + ": the tensor's storage is built by " + p.global()
                        + ", which is not on the allow-list (sgm4j never runs it; torch.storage._load_from_bytes would"
                        + " run torch.load on bytes embedded in the pickle)");
            }
            throw new PickleException(g + ": storage argument is a " + PickleValues.typeName(s) + ", not a persistent storage");
        }
        if (!(args.get(1) instanceof Long offset) || offset < 0) {
            throw new PickleException(g + ": storage offset " + PickleValues.describe(args.get(1)) + " is not a non-negative int");
        }
        long[] size = longs(g, args.get(2), "size");
        long[] stride = longs(g, args.get(3), "stride");
        if (size.length != stride.length) {
            throw new PickleException(g + ": size has " + size.length + " dimensions, stride " + stride.length);
        }
        return new TensorRef(storage, offset, size, stride);
    }

    private static long[] longs(PickleGlobal g, Object o, String what) {
        if (!(o instanceof PickleTuple t)) {
            throw new PickleException(g + ": " + what + " is a " + PickleValues.typeName(o) + ", not a tuple");
        }
        if (t.size() > MAX_DIMS) {
            throw new PickleException(g + ": " + what + " has " + t.size() + " dimensions (at most " + MAX_DIMS + ")");
        }
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v) || v < 0) {
                throw new PickleException(g + ": " + what + " " + PickleValues.describe(t) + " holds a value that is not a"
                        + " non-negative int");
            }
            out[i] = v;
        }
        return out;
    }

    @Override
    public Object persistentLoad(Object pid) {
        if (legacyTypes != null) {
            return legacyStorage(pid);
        }
        if (!(pid instanceof PickleTuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw new PickleException("persistent id " + PickleValues.describe(pid)
                    + " is not ('storage', type, key, location, numel)");
        }
        if (!(t.get(1) instanceof PickleGlobal type) || !type.module().equals("torch") || !type.name().endsWith("Storage")) {
            throw new PickleException("persistent id " + PickleValues.describe(pid) + ": storage type is not a torch.*Storage");
        }
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String)) {
            throw new PickleException("persistent id " + PickleValues.describe(pid) + ": key and location must be strings");
        }
        if (!(t.get(4) instanceof Long numel) || numel < 0) {
            throw new PickleException("persistent id " + PickleValues.describe(pid) + ": numel is not a non-negative int");
        }
        ZipIndex.Entry e = entries.get(root + "/data/" + key);
        if (e == null) {
            throw new PickleException("storage " + PickleValues.describe(key) + " is missing from the archive (no entry "
                    + root + "/data/" + PickleValues.describe(key) + "): truncated or corrupted checkpoint");
        }
        SafeTensorsDtype dt = STORAGE_TYPES.get(type.name());
        if (dt != null) {
            long bytes;
            try {
                bytes = Math.multiplyExact(numel, (long) dt.size());
            } catch (ArithmeticException x) {
                bytes = Long.MAX_VALUE;
            }
            if (bytes > e.size()) {
                throw new PickleException("storage '" + key + "' declares " + numel + " elements of " + type + " (" + bytes
                        + " bytes) but its entry holds " + e.size() + " bytes");
            }
        }
        return new Storage(key, type.qualifiedName(), dt, numel, e);
    }

    private Object legacyStorage(Object pid) {
        String d = PickleValues.describe(pid);
        if (pid instanceof PickleTuple m && m.size() > 0 && "module".equals(m.get(0))) {
            throw new PickleException("persistent id " + d + " is a whole pickled module (torch.save(model)), not a"
                    + " state dict: save model.state_dict() instead");
        }
        if (!(pid instanceof PickleTuple t) || t.size() != 6 || !"storage".equals(t.get(0))) {
            throw new PickleException("persistent id " + d + " is not ('storage', type, key, location, numel, view)");
        }
        if (!(t.get(1) instanceof PickleGlobal type) || !(type.module().equals("torch") || type.module().equals("torch.cuda"))
                || !type.name().endsWith("Storage")) {
            throw new PickleException("persistent id " + d + ": storage type is not a torch.*Storage");
        }
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String)) {
            throw new PickleException("persistent id " + d + ": key and location must be strings");
        }
        if (!(t.get(4) instanceof Long numel) || numel < 0) {
            throw new PickleException("persistent id " + d + ": numel is not a non-negative int");
        }
        ZipIndex.Entry e = entries.get(key);
        if (e == null) {
            throw new PickleException("storage " + PickleValues.describe(key) + " is not in the file's storage key list:"
                    + " truncated or corrupted checkpoint");
        }
        if (!type.name().equals(legacyTypes.get(key))) {
            throw new PickleException("storage " + PickleValues.describe(key) + " is used as " + type.name() + " and as "
                    + legacyTypes.get(key));
        }
        int es = elementSize(type.name());
        if (numel != e.size() / es) {
            throw new PickleException("storage " + PickleValues.describe(key) + " declares " + numel + " elements of "
                    + type + " but the file holds " + e.size() / es);
        }
        SafeTensorsDtype dt = STORAGE_TYPES.get(type.name());
        Object view = t.get(5);
        if (view == null) {
            return new Storage(key, type.qualifiedName(), dt, numel, e);
        }
        if (!(view instanceof PickleTuple v) || v.size() != 3 || !(v.get(0) instanceof String viewKey)
                || !(v.get(1) instanceof Long offset) || !(v.get(2) instanceof Long n) || offset < 0 || n < 0) {
            throw new PickleException("persistent id " + d + ": view metadata is not (key, offset, size) with"
                    + " non-negative ints");
        }
        if (offset > numel || n > numel - offset) {
            throw new PickleException("storage view " + PickleValues.describe(viewKey) + " (offset " + offset + ", size "
                    + n + ") reaches past the " + numel + " elements of its root storage " + PickleValues.describe(key));
        }
        String name = e.name() + "[" + offset + ":" + (offset + n) + "]";
        return new Storage(viewKey, type.qualifiedName(), dt, n,
                new ZipIndex.Entry(name, 0, 0, n * es, n * es, 0, e.dataOffset() + offset * es));
    }
}
