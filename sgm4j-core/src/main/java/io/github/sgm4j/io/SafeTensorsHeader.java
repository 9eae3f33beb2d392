package io.github.sgm4j.io;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads and validates a safetensors header; every violation names the file and the tensor. */
record SafeTensorsHeader(long dataStart, long dataLength, Map<String, TensorInfo> tensors, Map<String, String> metadata) {

    /** Largest header accepted (the reference implementation's bound). */
    static final long MAX_HEADER = 100L * 1024 * 1024;

    static SafeTensorsHeader read(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafeTensorsFormatException(path + ": file is " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        TensorReads.readFully(ch, lenBuf, 0);
        long n = lenBuf.flip().getLong();
        if (n < 2 || n > MAX_HEADER) {
            throw new SafeTensorsFormatException(path + ": header length " + Long.toUnsignedString(n)
                    + " is outside [2, " + MAX_HEADER + "]");
        }
        if (n > size - 8) {
            throw new SafeTensorsFormatException(path + ": header length " + n + " is larger than the file ("
                    + size + " bytes): the file is truncated or not safetensors");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        TensorReads.readFully(ch, hb, 8);
        hb.flip();
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(hb)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(path + ": header is not valid UTF-8", e);
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        parse(path, json, tensors, metadata);
        long dataStart = 8 + n;
        long dataLength = size - dataStart;
        validateLayout(path, tensors, dataLength);
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparing(TensorInfo::name));
        Map<String, TensorInfo> ordered = new LinkedHashMap<>();
        for (TensorInfo t : sorted) {
            ordered.put(t.name(), t);
        }
        return new SafeTensorsHeader(dataStart, dataLength, ordered, metadata);
    }

    private static void parse(Path path, String json, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        try (JsonReader r = new JsonReader(new StringReader(json))) {
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw new SafeTensorsFormatException(path + ": header is not a JSON object");
            }
            r.beginObject();
            Set<String> seen = new HashSet<>();
            while (r.hasNext()) {
                String name = r.nextName();
                if (!seen.add(name)) {
                    throw new SafeTensorsFormatException(path + ": tensor '" + name + "' appears twice in the header");
                }
                if (name.equals("__metadata__")) {
                    if (r.peek() != JsonToken.BEGIN_OBJECT) {
                        throw new SafeTensorsFormatException(path + ": __metadata__ must be an object of strings");
                    }
                    r.beginObject();
                    while (r.hasNext()) {
                        String k = r.nextName();
                        if (r.peek() != JsonToken.STRING) {
                            throw new SafeTensorsFormatException(path + ": __metadata__ value of '" + k + "' is not a string");
                        }
                        metadata.put(k, r.nextString());
                    }
                    r.endObject();
                } else {
                    tensors.put(name, parseEntry(path, name, r));
                }
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw new SafeTensorsFormatException(path + ": trailing data after the header object");
            }
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new SafeTensorsFormatException(path + ": header is not JSON (" + jsonProblem(e)
                    + "): not a safetensors file, or a corrupted one", e);
        }
    }

    /**
     * Where Gson failed, without its advice ("Use JsonReader.setStrictness...") and troubleshooting
     * URL, which are meant for Gson users, not for someone holding a broken file.
     */
    static String jsonProblem(Exception e) {
        java.util.regex.Matcher where = java.util.regex.Pattern.compile("line (\\d+) column (\\d+)")
                .matcher(String.valueOf(e.getMessage()));
        return where.find() ? "malformed at line " + where.group(1) + " column " + where.group(2) : "malformed";
    }

    private static TensorInfo parseEntry(Path path, String name, JsonReader r) throws IOException {
        String where = path + ": tensor '" + name + "'";
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw new SafeTensorsFormatException(where + ": header entry is not an object");
        }
        String dtype = null;
        long[] shape = null;
        long[] offsets = null;
        r.beginObject();
        while (r.hasNext()) {
            String key = r.nextName();
            switch (key) {
                case "dtype" -> {
                    if (r.peek() != JsonToken.STRING) {
                        throw new SafeTensorsFormatException(where + ": dtype is not a string");
                    }
                    dtype = r.nextString();
                }
                case "shape" -> shape = longArray(r, where + ": shape");
                case "data_offsets" -> offsets = longArray(r, where + ": data_offsets");
                default -> r.skipValue();
            }
        }
        r.endObject();
        if (dtype == null || shape == null || offsets == null) {
            throw new SafeTensorsFormatException(where + ": header entry needs dtype, shape and data_offsets");
        }
        SafeTensorsDtype.of(dtype, path, name);
        if (offsets.length != 2) {
            throw new SafeTensorsFormatException(where + ": data_offsets must have 2 entries, got " + offsets.length);
        }
        for (long d : shape) {
            if (d < 0) {
                throw new SafeTensorsFormatException(where + ": negative dimension in shape " + java.util.Arrays.toString(shape));
            }
        }
        numel(shape, where);
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    /**
     * The element count of {@code shape}, checked for overflow (a shape like [2^62, 4] wraps to 0 in
     * 64-bit arithmetic and would pass the byte-length check).
     */
    static long numel(long[] shape, String where) {
        long n = 1;
        for (long d : shape) {
            if (d == 0) {
                return 0;
            }
        }
        for (long d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new SafeTensorsFormatException(where + ": shape " + java.util.Arrays.toString(shape)
                        + " has more elements than fit in 64 bits");
            }
        }
        return n;
    }

    private static long[] longArray(JsonReader r, String where) throws IOException {
        if (r.peek() != JsonToken.BEGIN_ARRAY) {
            throw new SafeTensorsFormatException(where + " is not an array");
        }
        List<Long> vals = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
            if (r.peek() != JsonToken.NUMBER) {
                throw new SafeTensorsFormatException(where + " contains a non-number");
            }
            String s = r.nextString();
            try {
                vals.add(Long.parseLong(s));
            } catch (NumberFormatException e) {
                throw new SafeTensorsFormatException(where + " contains a non-integer " + s);
            }
        }
        r.endArray();
        return vals.stream().mapToLong(Long::longValue).toArray();
    }

    private static void validateLayout(Path path, Map<String, TensorInfo> tensors, long dataLength) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long prevEnd = 0;
        String prevName = null;
        for (TensorInfo t : sorted) {
            String where = path + ": tensor '" + t.name() + "'";
            if (t.begin() < 0 || t.end() < t.begin()) {
                throw new SafeTensorsFormatException(where + ": invalid data_offsets [" + t.begin() + ", " + t.end() + "]");
            }
            if (t.end() > dataLength) {
                throw new SafeTensorsFormatException(where + ": data_offsets [" + t.begin() + ", " + t.end()
                        + "] reach past the data section (" + dataLength + " bytes): offsets out of range or file truncated");
            }
            SafeTensorsDtype dt = SafeTensorsDtype.valueOf(t.dtype());
            long expected;
            try {
                expected = Math.multiplyExact(t.numel(), dt.size());
            } catch (ArithmeticException e) {
                throw new SafeTensorsFormatException(where + ": shape is too large");
            }
            if (expected != t.end() - t.begin()) {
                throw new SafeTensorsFormatException(where + ": shape " + java.util.Arrays.toString(t.shape()) + " of "
                        + t.dtype() + " needs " + expected + " bytes, data_offsets span " + (t.end() - t.begin()));
            }
            if (t.begin() < prevEnd && t.end() > t.begin()) {
                throw new SafeTensorsFormatException(where + ": data overlaps tensor '" + prevName + "'");
            }
            if (t.end() > t.begin()) {
                prevEnd = t.end();
                prevName = t.name();
            }
        }
    }
}
