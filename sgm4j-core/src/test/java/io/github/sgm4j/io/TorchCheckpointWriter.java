package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes a state dict as a PyTorch zip checkpoint the way {@code torch.save} does
 * (pickle protocol 2, {@code collections.OrderedDict} of {@code torch._utils._rebuild_tensor_v2}
 * over persistent storages {@code archive/data/N}, stored entries), optionally Lightning-style under
 * {@code "state_dict"} beside top-level numbers and strings. torch 1.13 loads its output (checked by
 * hand with {@code torch.load}); tests use it to make {@code .ckpt} files of any model. {@link
 * #writeLegacy} writes the same state dict in torch's legacy non-zip format.
 */
public final class TorchCheckpointWriter {

    private TorchCheckpointWriter() {}

    /**
     * Writes {@code stateDict} (contiguous tensors, one storage each).
     *
     * @param path the file to write
     * @param stateDict the tensors in order (read, not closed)
     * @param topLevel null to write the state dict as the top-level object; otherwise the entries of
     *     a top-level dict (Long, Double, String values) written before {@code "state_dict"}
     * @throws IOException if the file cannot be written
     */
    public static void write(Path path, Map<String, NDArray> stateDict, Map<String, Object> topLevel) throws IOException {
        Map<String, byte[]> storages = new LinkedHashMap<>();
        java.util.List<Spec> specs = new java.util.ArrayList<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            NDArray a = e.getValue();
            String key = String.valueOf(storages.size());
            ByteBuffer bb = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            byte[] bytes = new byte[bb.remaining()];
            bb.get(bytes);
            storages.put(key, bytes);
            specs.add(new Spec(e.getKey(), storageType(a), key, a.size(), a.getShape().getShape()));
        }
        ByteArrayOutputStream p = pickle(specs, topLevel);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", p.toByteArray());
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        try (OutputStream os = Files.newOutputStream(path); ZipOutputStream z = new ZipOutputStream(os)) {
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

    /**
     * Writes {@code stateDict} in torch's legacy non-zip format, as {@code torch.save(sd, f,
     * _use_new_zipfile_serialization=False)} does: the magic number, version 1001 and sys_info
     * pickles, the object pickle (persistent ids with a None view), the storage key list, then each
     * storage as an 8-byte little-endian element count and its bytes. torch 1.13 loads its output
     * (checked by hand with {@code torch.load}).
     *
     * @param path the file to write
     * @param stateDict the tensors in order (read, not closed)
     * @param topLevel as for {@link #write}
     * @throws IOException if the file cannot be written
     */
    public static void writeLegacy(Path path, Map<String, NDArray> stateDict, Map<String, Object> topLevel)
            throws IOException {
        java.util.List<Spec> specs = new java.util.ArrayList<>();
        java.util.List<byte[]> storages = new java.util.ArrayList<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            NDArray a = e.getValue();
            ByteBuffer bb = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            byte[] bytes = new byte[bb.remaining()];
            bb.get(bytes);
            specs.add(new Spec(e.getKey(), storageType(a), String.valueOf(storages.size()), a.size(),
                    a.getShape().getShape()));
            storages.add(bytes);
        }
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(path), 1 << 16)) {
            os.write(legacyHeader());
            os.write(pickle(specs, topLevel, true).toByteArray());
            os.write(legacyKeys(specs));
            for (int i = 0; i < specs.size(); i++) {
                os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(specs.get(i).numel()).array());
                os.write(storages.get(i));
            }
        }
    }

    /** The first three pickles of a legacy file: magic number, version 1001, sys_info. */
    static byte[] legacyHeader() throws IOException {
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        info.write(new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20,
            0x6a, (byte) 0xa8, 0x50, 0x19, '.'});
        info.write(new byte[] {(byte) 0x80, 2, 'M', (byte) 0xe9, 0x03, '.'});
        info.write(new byte[] {(byte) 0x80, 2, '}', '('});
        unicode(info, "protocol_version");
        info.write(new byte[] {'M', (byte) 0xe9, 0x03});
        unicode(info, "little_endian");
        info.write((byte) 0x88);
        unicode(info, "type_sizes");
        info.write(new byte[] {'}', '('});
        for (String[] ts : new String[][] {{"short", "2"}, {"int", "4"}, {"long", "4"}}) {
            unicode(info, ts[0]);
            info.write(new byte[] {'K', (byte) Integer.parseInt(ts[1])});
        }
        info.write(new byte[] {'u', 'u', '.'});
        return info.toByteArray();
    }

    /** The storage key list pickle of a legacy file (the keys of {@code specs}, in order). */
    static byte[] legacyKeys(java.util.List<Spec> specs) throws IOException {
        ByteArrayOutputStream keys = new ByteArrayOutputStream();
        keys.write(new byte[] {(byte) 0x80, 2, ']', '('});
        for (Spec sp : specs) {
            unicode(keys, sp.key());
        }
        keys.write(new byte[] {'e', '.'});
        return keys.toByteArray();
    }

    /** One contiguous tensor of the pickle: its name, storage class, storage key, numel and shape. */
    record Spec(String name, String storageType, String key, long numel, long[] shape) {}

    /** The {@code data.pkl} of {@code specs} (see {@link #write}). */
    static ByteArrayOutputStream pickle(java.util.List<Spec> specs, Map<String, Object> topLevel) throws IOException {
        return pickle(specs, topLevel, false);
    }

    /** The object pickle of {@code specs}; {@code legacy} adds the view element (None) to each persistent id. */
    static ByteArrayOutputStream pickle(java.util.List<Spec> specs, Map<String, Object> topLevel, boolean legacy)
            throws IOException {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(new byte[] {(byte) 0x80, 2});
        if (topLevel != null) {
            p.write(new byte[] {'}', '('});
            for (Map.Entry<String, Object> e : topLevel.entrySet()) {
                unicode(p, e.getKey());
                Object v = e.getValue();
                if (v instanceof Long l) {
                    long1(p, l);
                } else if (v instanceof Double d) {
                    p.write('G');
                    p.write(ByteBuffer.allocate(8).putDouble(d).array());
                } else {
                    unicode(p, (String) v);
                }
            }
            unicode(p, "state_dict");
        }
        global(p, "collections", "OrderedDict");
        p.write(new byte[] {')', 'R', '('});
        for (Spec s : specs) {
            unicode(p, s.name());
            global(p, "torch._utils", "_rebuild_tensor_v2");
            p.write(new byte[] {'(', '('});
            unicode(p, "storage");
            global(p, "torch", s.storageType());
            unicode(p, s.key());
            unicode(p, "cpu");
            long1(p, s.numel());
            if (legacy) {
                p.write('N');
            }
            p.write(new byte[] {'t', 'Q'});
            long1(p, 0);
            long[] shape = s.shape();
            p.write('(');
            for (long d : shape) {
                long1(p, d);
            }
            p.write(new byte[] {'t', '('});
            long stride = 1;
            long[] strides = new long[shape.length];
            for (int i = shape.length - 1; i >= 0; i--) {
                strides[i] = stride;
                stride *= shape[i];
            }
            for (long st : strides) {
                long1(p, st);
            }
            p.write(new byte[] {'t', (byte) 0x89});
            global(p, "collections", "OrderedDict");
            p.write(new byte[] {')', 'R', 't', 'R'});
        }
        p.write('u');
        if (topLevel != null) {
            p.write('u');
        }
        p.write('.');
        return p;
    }

    private static String storageType(NDArray a) {
        return switch (a.getDataType()) {
            case FLOAT32 -> "FloatStorage";
            case FLOAT64 -> "DoubleStorage";
            case FLOAT16 -> "HalfStorage";
            case INT64 -> "LongStorage";
            case INT32 -> "IntStorage";
            case INT8 -> "CharStorage";
            case UINT8 -> "ByteStorage";
            case BOOLEAN -> "BoolStorage";
            default -> throw new IllegalArgumentException("dtype " + a.getDataType() + " is not written");
        };
    }

    private static void global(ByteArrayOutputStream p, String module, String name) throws IOException {
        p.write('c');
        p.write((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void unicode(ByteArrayOutputStream p, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.write('X');
        p.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        p.write(b);
    }

    private static void long1(ByteArrayOutputStream p, long v) throws IOException {
        p.write(new byte[] {(byte) 0x8a, 8});
        p.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }
}
