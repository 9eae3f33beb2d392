package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * An open safetensors file: the validated header, and tensors loaded lazily by name with positional
 * reads of the data section into one reusable native buffer (files above 2 GiB work, the Java heap
 * never holds the file, and the file's pages never count in the process's resident memory: see
 * {@link TensorReads}). Obtain one with {@link SafeTensors#open}; close it when done (arrays already
 * loaded stay valid). Not thread-safe: load from one thread at a time.
 */
public final class SafeTensorsFile implements StateDictFile {

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final long dataLength;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final TensorReads reads;

    SafeTensorsFile(Path path, FileChannel channel, long dataStart, long dataLength,
            Map<String, TensorInfo> tensors, Map<String, String> metadata) throws IOException {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
        this.tensors = tensors;
        this.metadata = metadata;
        this.reads = new TensorReads(path, channel);
    }

    static SafeTensorsFile open(Path path) {
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
            try {
                SafeTensorsHeader h = SafeTensorsHeader.read(path, ch);
                return new SafeTensorsFile(path, ch, h.dataStart(), h.dataLength(), h.tensors(), h.metadata());
            } catch (RuntimeException | IOException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read safetensors file " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file.
     *
     * @return the path given to {@link SafeTensors#open}
     */
    public Path path() {
        return path;
    }

    /**
     * Tensor names in data order.
     *
     * @return an unmodifiable list
     */
    public List<String> keys() {
        return new ArrayList<>(tensors.keySet());
    }

    /**
     * Whether the file has a tensor {@code name}.
     *
     * @param name the tensor name
     * @return whether the header lists it
     */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The header entry of {@code name}.
     *
     * @param name the tensor name
     * @return the entry
     * @throws IllegalArgumentException if there is no such tensor
     */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
        }
        return t;
    }

    /**
     * The {@code __metadata__} map (empty when absent).
     *
     * @return an unmodifiable map
     */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Loads {@code name} in its stored dtype (BF16 becomes FLOAT32, I16 becomes INT32).
     *
     * @param name the tensor name
     * @param manager the manager that owns the result
     * @return a new array (the caller owns it); it stays valid after this file is closed
     * @throws IllegalArgumentException if there is no such tensor
     * @throws SafeTensorsFormatException if its dtype is unsupported or it exceeds 2 GiB
     */
    public NDArray load(String name, NDManager manager) {
        return load(name, manager, null);
    }

    /**
     * Loads {@code name} and converts it to {@code target} (null keeps the stored dtype; BF16 is
     * always widened to FLOAT32 in Java first, since DJL cannot hold bfloat16 arrays safely).
     *
     * @param name the tensor name
     * @param manager the manager that owns the result
     * @param target the dtype of the result, or null for the stored dtype
     * @return a new array (the caller owns it); it stays valid after this file is closed
     * @throws IllegalArgumentException if there is no such tensor
     * @throws SafeTensorsFormatException if its dtype is unsupported or it exceeds 2 GiB
     */
    public NDArray load(String name, NDManager manager, DataType target) {
        TensorInfo t = info(name);
        SafeTensorsDtype dt = SafeTensorsDtype.of(t.dtype(), path, name);
        long bytes = t.byteLength();
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new SafeTensorsFormatException(path + ": tensor '" + name + "' has " + bytes
                    + " bytes; single tensors above 2 GiB are not supported");
        }
        ByteBuffer raw = reads.buffer((int) bytes);
        reads.readFully(dataStart + t.begin(), raw);
        raw.flip();
        ByteBuffer data = dt.toEngineBytes(raw);
        Shape shape = new Shape(t.shape());
        NDArray a = Tensors.create(manager, data.order(ByteOrder.nativeOrder()), shape, dt.engineType());
        if (target != null && target != a.getDataType()) {
            NDArray c = a.toType(target, false);
            a.close();
            a = c;
        }
        return a;
    }

    /**
     * Loads every tensor, in data order.
     *
     * @param manager the manager that owns the arrays
     * @return the arrays by name, in data order; the caller owns them
     * @throws SafeTensorsFormatException if a dtype is unsupported or a tensor exceeds 2 GiB
     */
    public Map<String, NDArray> loadAll(NDManager manager) {
        return loadAll(manager, null, k -> true);
    }

    /**
     * Loads every tensor converted to {@code target} (null keeps dtypes).
     *
     * @param manager the manager that owns the arrays
     * @param target the dtype of every result, or null for the stored dtypes
     * @return the arrays by name, in data order; the caller owns them
     * @throws SafeTensorsFormatException if a dtype is unsupported or a tensor exceeds 2 GiB
     */
    public Map<String, NDArray> loadAll(NDManager manager, DataType target) {
        return loadAll(manager, target, k -> true);
    }

    /**
     * Loads the tensors whose names pass {@code filter}.
     *
     * @param manager the manager that owns the arrays
     * @param target the dtype of every result, or null for the stored dtypes
     * @param filter the test on tensor names; only names passing it are loaded
     * @return the loaded arrays by name, in data order; the caller owns them
     * @throws SafeTensorsFormatException if a dtype is unsupported or a tensor exceeds 2 GiB
     */
    public Map<String, NDArray> loadAll(NDManager manager, DataType target, Predicate<String> filter) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String k : tensors.keySet()) {
            if (filter.test(k)) {
                out.put(k, load(k, manager, target));
            }
        }
        return out;
    }

    long dataLength() {
        return dataLength;
    }

    long dataStart() {
        return dataStart;
    }

    @Override
    public void close() {
        reads.release();
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
