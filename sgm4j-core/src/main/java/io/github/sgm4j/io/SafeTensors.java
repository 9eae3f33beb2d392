package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reading and writing the safetensors format: an 8-byte little-endian header length N, N bytes of
 * JSON ({@code {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}}, padded with
 * spaces to a multiple of 8), then the raw little-endian row-major data.
 *
 * <pre>{@code
 * try (SafeTensorsFile f = SafeTensors.open(path)) {
 *     NDArray w = f.load("first_stage_model.decoder.conv_in.weight", manager);
 * }
 * SafeTensors.write(out, model.stateDict(), Map.of("format", "pt"));   // atomic
 * }</pre>
 */
public final class SafeTensors {

    private SafeTensors() {}

    /**
     * Opens and validates {@code path}; tensors are read lazily from a memory map.
     *
     * @param path the {@code .safetensors} file
     * @return the open file; the caller closes it
     * @throws SafeTensorsFormatException if the header is malformed (the message names the file and the
     *     tensor)
     * @throws UncheckedIOException if the file cannot be read
     */
    public static SafeTensorsFile open(Path path) {
        return SafeTensorsFile.open(path);
    }

    /**
     * Reads every tensor of {@code path} into {@code manager}.
     *
     * @param path the {@code .safetensors} file
     * @param manager the manager that owns the arrays
     * @return the arrays by name in data order, in their stored dtypes (see {@link SafeTensorsFile#load});
     *     the caller owns them
     * @throws SafeTensorsFormatException if the file is malformed or holds an unsupported dtype
     * @throws UncheckedIOException if the file cannot be read
     */
    public static Map<String, NDArray> readAll(Path path, NDManager manager) {
        try (SafeTensorsFile f = open(path)) {
            return f.loadAll(manager);
        }
    }

    /**
     * Writes {@code tensors} (in map order) with {@code metadata} to {@code path}, atomically: the
     * bytes go to a temporary file in the same directory ({@link #writeTemp}), which is flushed to
     * disk and then renamed over {@code path} ({@link #moveIntoPlace}). On failure the temporary file
     * is removed and an existing {@code path} is left untouched. The file gets the permissions of any
     * other new file (the process umask applies).
     *
     * @param path the destination; missing parent directories are created
     * @param tensors the arrays by name, written in iteration order (read, not closed)
     * @param metadata the {@code __metadata__} string map
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__} or has a dtype safetensors
     *     cannot store
     * @throws UncheckedIOException naming {@code path} when the file cannot be written
     */
    public static void write(Path path, Map<String, NDArray> tensors, Map<String, String> metadata) {
        Path tmp = writeTemp(path, tensors, metadata);
        try {
            moveIntoPlace(tmp, path);
            tmp = null;
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Suffix of the temporary files of {@link #writeTemp}. */
    public static final String TEMP_SUFFIX = ".tmp";

    /**
     * Writes {@code tensors} to a new temporary file beside {@code path} (named {@code
     * .<name>.<random>.tmp}, created like any other file so the umask applies), flushed to disk; the
     * caller renames it with {@link #moveIntoPlace} or deletes it. On failure nothing is left behind.
     *
     * @param path the final destination; missing parent directories are created
     * @param tensors the arrays by name, written in iteration order (read, not closed)
     * @param metadata the {@code __metadata__} string map
     * @return the temporary file
     * @throws UncheckedIOException naming {@code path} when the file cannot be written (disk full...)
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__} or has a dtype safetensors
     *     cannot store
     */
    public static Path writeTemp(Path path, Map<String, NDArray> tensors, Map<String, String> metadata) {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = createTemp(dir, abs.getFileName().toString());
            writeTo(tmp, tensors, metadata);
            Path done = tmp;
            tmp = null;
            return done;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write safetensors file " + path + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /**
     * Whether {@code file} is named like a temporary file of {@link #writeTemp} (or of earlier
     * versions) for a {@code .safetensors} file: left behind only by an interrupted write.
     *
     * @param file any path
     * @return true for a name {@code .*.safetensors*.tmp}
     */
    public static boolean isTempFile(Path file) {
        String n = file.getFileName().toString();
        return n.startsWith(".") && n.endsWith(TEMP_SUFFIX) && n.contains(".safetensors");
    }

    /**
     * Renames a temporary file of {@link #writeTemp} over {@code path} (atomically where supported).
     *
     * @param tmp the temporary file returned by {@link #writeTemp}
     * @param path the destination, replaced if it exists
     * @throws UncheckedIOException naming {@code path} when the rename fails
     */
    public static void moveIntoPlace(Path tmp, Path path) {
        Path abs = path.toAbsolutePath();
        try {
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write safetensors file " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes {@code file} if not null, ignoring errors (cleanup after another failure).
     *
     * @param file the file, or null
     */
    public static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the original error is more useful
            }
        }
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + TEMP_SUFFIX);
            try {
                // CREATE_NEW with default attributes: mode 0666 minus the umask, like every other output
                Files.newByteChannel(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private static void writeTo(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
            }
            NDArray a = e.getValue();
            String code = SafeTensorsDtype.codeOf(a.getDataType(), name);
            long bytes = a.size() * SafeTensorsDtype.valueOf(code).size();
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", code);
            JsonArray shape = new JsonArray();
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            off.add(offset + bytes);
            entry.add("data_offsets", off);
            header.add(name, entry);
            sizes.put(name, bytes);
            offset += bytes;
        }
        byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded);
        head.put(json);
        while (head.position() < 8 + padded) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                NDArray a = e.getValue();
                ByteBuffer data = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                if (data.remaining() != sizes.get(e.getKey())) {
                    throw new IllegalStateException("tensor '" + e.getKey() + "': engine returned " + data.remaining()
                            + " bytes, expected " + sizes.get(e.getKey()));
                }
                writeFully(ch, data);
            }
            ch.force(true);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
