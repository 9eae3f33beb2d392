package io.github.sgm4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Opens a state-dict file of either format, chosen by content (not by extension): a zip or pickle
 * header (the zip format) or a pickle header (the legacy format) means a PyTorch checkpoint ({@link
 * TorchCheckpoint}: {@code .ckpt}, {@code .pth}, {@code .pt}), anything else is read as safetensors ({@link SafeTensors#open}).
 */
public final class StateDicts {

    private StateDicts() {}

    /**
     * Opens {@code path} as a safetensors file or a PyTorch checkpoint (zip or legacy format), by its
     * first bytes.
     *
     * @param path the file
     * @return the open file; the caller closes it
     * @throws SafeTensorsFormatException if it is neither a torch checkpoint nor valid safetensors
     * @throws TorchCheckpointFormatException if it is a malformed, unsupported (tar layout, bare pickle) or refused torch checkpoint
     * @throws UncheckedIOException if the file cannot be read
     */
    public static StateDictFile open(Path path) {
        return isTorch(path) ? TorchCheckpoint.open(path) : SafeTensors.open(path);
    }

    /**
     * Reads every tensor of {@code path} in its stored dtype.
     *
     * @param path the file (either format)
     * @param manager the manager that owns the arrays
     * @return the arrays by name, in file order; the caller owns them
     * @throws SafeTensorsFormatException if it is neither a torch checkpoint nor valid safetensors
     * @throws TorchCheckpointFormatException if it is a malformed, unsupported (tar layout, bare pickle) or refused torch checkpoint
     * @throws UncheckedIOException if the file cannot be read
     */
    public static Map<String, NDArray> readAll(Path path, NDManager manager) {
        return readAll(path, manager, null);
    }

    /**
     * Reads every tensor of {@code path} converted to {@code target}.
     *
     * @param path the file (either format)
     * @param manager the manager that owns the arrays
     * @param target the dtype of every result (e.g. FLOAT32 for fp16/bf16 files), or null for the stored dtypes
     * @return the arrays by name, in file order; the caller owns them
     * @throws SafeTensorsFormatException if it is neither a torch checkpoint nor valid safetensors
     * @throws TorchCheckpointFormatException if it is a malformed, unsupported (tar layout, bare pickle) or refused torch checkpoint
     * @throws UncheckedIOException if the file cannot be read
     */
    public static Map<String, NDArray> readAll(Path path, NDManager manager, DataType target) {
        try (StateDictFile f = open(path)) {
            return f.loadAll(manager, target);
        }
    }

    /**
     * Whether {@code path} starts like a PyTorch checkpoint rather than safetensors: a zip header, a
     * pickle (the legacy format) or a tar header (torch's oldest layout, refused later with advice),
     * unless the first 9 bytes read as a safetensors header length followed by an opening brace (a
     * header length such as 0x280 also starts with the pickle protocol byte 0x80).
     *
     * @param path the file
     * @return true for a zip, pickle or tar header
     * @throws UncheckedIOException if the file cannot be read
     */
    public static boolean isTorch(Path path) {
        byte[] head = new byte[512];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            return true;
        }
        boolean safetensors = n >= 9 && head[8] == '{' && head[5] == 0 && head[6] == 0 && head[7] == 0;
        return !safetensors && TorchCheckpoint.looksLikeTorch(java.util.Arrays.copyOf(head, n));
    }
}
