package io.github.sgm4j.train.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The MNIST digits from the original IDX files (gzipped or not), as sgm's {@code
 * sgm.data.mnist.MNISTLoader} presents them: batches {@code {"jpg": (B,1,28,28) float32 in [-1,
 * 1], "cls": (B,) int64}} with {@code x = u8 / 255 * 2 - 1}.
 *
 * <p>Batches are a pure function of {@code (seed, step)}: epoch {@code e} visits the samples in a
 * permutation drawn from {@code seed + e}, the last incomplete batch of an epoch is dropped. A
 * resumed run therefore sees exactly the batches the uninterrupted run would have seen.
 *
 * <p>The pixels and labels are held on the heap as bytes (about 47 MB for the training set); no
 * NDArray is held. Immutable after loading and thread-safe.
 */
public final class MnistDataset {

    /** Image side length. */
    public static final int SIDE = 28;

    private final byte[] images;
    private final byte[] labels;
    private final int count;

    private MnistDataset(byte[] images, byte[] labels, int count) {
        this.images = images;
        this.labels = labels;
        this.count = count;
    }

    /**
     * Loads {@code train-images-idx3-ubyte(.gz)} and {@code train-labels-idx1-ubyte(.gz)} (or the
     * {@code t10k-} files when {@code train} is false) from {@code dir}. A gzipped file ({@code .gz})
     * is preferred when both forms exist.
     *
     * @param dir the directory holding the IDX files
     * @param train the 60000-image training split when true, the 10000-image test split when false
     * @return the data set
     * @throws DataException when a file is missing, unreadable or not a valid IDX file
     */
    public static MnistDataset load(Path dir, boolean train) {
        if (!Files.isDirectory(dir)) {
            throw new DataException("MNIST directory does not exist or is not a directory: " + dir.toAbsolutePath());
        }
        String prefix = train ? "train" : "t10k";
        Path imgPath = find(dir, prefix + "-images-idx3-ubyte");
        Path lblPath = find(dir, prefix + "-labels-idx1-ubyte");
        int n;
        byte[] img;
        try (DataInputStream in = open(imgPath)) {
            int magic = in.readInt();
            if (magic != 2051) {
                throw new DataException(imgPath + ": not an IDX image file (magic " + magic + ", expected 2051)");
            }
            n = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (rows != SIDE || cols != SIDE || n <= 0) {
                throw new DataException(imgPath + ": expected N x 28 x 28 images, got " + n + " x " + rows + " x " + cols);
            }
            img = new byte[n * SIDE * SIDE];
            in.readFully(img);
        } catch (EOFException e) {
            throw new DataException(imgPath + ": file is truncated", e);
        } catch (IOException e) {
            throw new DataException(imgPath + ": cannot read: " + e.getMessage(), e);
        }
        byte[] lbl;
        try (DataInputStream in = open(lblPath)) {
            int magic = in.readInt();
            if (magic != 2049) {
                throw new DataException(lblPath + ": not an IDX label file (magic " + magic + ", expected 2049)");
            }
            int m = in.readInt();
            if (m != n) {
                throw new DataException(lblPath + ": " + m + " labels for " + n + " images in " + imgPath);
            }
            lbl = new byte[m];
            in.readFully(lbl);
        } catch (EOFException e) {
            throw new DataException(lblPath + ": file is truncated", e);
        } catch (IOException e) {
            throw new DataException(lblPath + ": cannot read: " + e.getMessage(), e);
        }
        for (int i = 0; i < n; i++) {
            if (lbl[i] < 0 || lbl[i] > 9) {
                throw new DataException(lblPath + ": label " + lbl[i] + " at index " + i + " is not a digit");
            }
        }
        return new MnistDataset(img, lbl, n);
    }

    private static Path find(Path dir, String base) {
        Path gz = dir.resolve(base + ".gz");
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path raw = dir.resolve(base);
        if (Files.isRegularFile(raw)) {
            return raw;
        }
        throw new DataException("MNIST file " + base + "(.gz) not found in " + dir.toAbsolutePath());
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = Files.newInputStream(p);
        if (p.getFileName().toString().endsWith(".gz")) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        return new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16));
    }

    /**
     * Number of samples.
     *
     * @return the number of images (and labels)
     */
    public int size() {
        return count;
    }

    /**
     * The label of sample {@code i}.
     *
     * @param i the sample index, in [0, {@link #size()})
     * @return the digit, 0 to 9
     * @throws ArrayIndexOutOfBoundsException when {@code i} is out of range
     */
    public int label(int i) {
        return labels[i];
    }

    /**
     * The pixels of sample {@code i}.
     *
     * @param i the sample index, in [0, {@link #size()})
     * @return a new array of 28 x 28 row-major grey values 0 to 255
     * @throws IndexOutOfBoundsException when {@code i} is out of range
     */
    public int[] image(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("MNIST index " + i + " outside [0, " + count + ")");
        }
        int px = SIDE * SIDE;
        int[] out = new int[px];
        for (int p = 0; p < px; p++) {
            out[p] = images[i * px + p] & 0xff;
        }
        return out;
    }

    /**
     * Full batches per epoch for {@code batchSize} (the last incomplete batch is dropped).
     *
     * @param batchSize the batch size
     * @return {@code size() / batchSize}
     * @throws IllegalArgumentException when {@code batchSize} is not in [1, {@link #size()}]
     */
    public long batchesPerEpoch(int batchSize) {
        if (batchSize <= 0 || batchSize > count) {
            throw new IllegalArgumentException("batch size must be in [1, " + count + "], got " + batchSize);
        }
        return count / batchSize;
    }

    /**
     * The sample order of epoch {@code epoch} under {@code seed} (Fisher–Yates with {@link Random}
     * seeded with {@code seed * 1000003 + epoch}).
     *
     * @param seed the run seed
     * @param epoch the 0-based epoch
     * @return a new permutation of [0, {@link #size()})
     */
    public int[] permutation(long seed, long epoch) {
        return permutation(count, seed, epoch);
    }

    /**
     * A permutation of {@code [0, n)} for {@code (seed, epoch)}, as {@link #permutation(long, long)}
     * makes it for the digits (other in-memory data sets shuffle the same way).
     *
     * @param n the number of items
     * @param seed the run seed
     * @param epoch the 0-based epoch
     * @return a new permutation of [0, n)
     */
    public static int[] permutation(int n, long seed, long epoch) {
        int count = n;
        int[] idx = new int[count];
        for (int i = 0; i < count; i++) {
            idx[i] = i;
        }
        Random r = new Random(seed * 1_000_003L + epoch);
        for (int i = count - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    /**
     * The batch of training step {@code step} (0-based): {@code jpg} (B,1,28,28) float32 in [-1,1]
     * and {@code cls} (B,) int64, in {@code manager}.
     *
     * @param manager the manager that owns the returned arrays (the caller closes them, or the manager)
     * @param step the 0-based global training step
     * @param batchSize the batch size B
     * @param seed the run seed (fixes the order of every epoch)
     * @return a new map with the keys {@code jpg} and {@code cls}, in that order
     * @throws IllegalArgumentException when {@code batchSize} is not in [1, {@link #size()}]
     */
    public Map<String, NDArray> batch(NDManager manager, long step, int batchSize, long seed) {
        long per = batchesPerEpoch(batchSize);
        long epoch = step / per;
        int offset = (int) ((step % per) * batchSize);
        int[] perm = permutation(seed, epoch);
        int[] chosen = new int[batchSize];
        System.arraycopy(perm, offset, chosen, 0, batchSize);
        return gather(manager, chosen);
    }

    /**
     * The samples at {@code indices} as a batch, in the format of {@link #batch}.
     *
     * @param manager the manager that owns the returned arrays (the caller closes them, or the manager)
     * @param indices sample indices (repeats allowed), each in [0, {@link #size()})
     * @return a new map: {@code jpg} (B,1,28,28) float32 in [-1, 1] and {@code cls} (B,) int64
     * @throws IndexOutOfBoundsException when an index is out of range
     */
    public Map<String, NDArray> gather(NDManager manager, int[] indices) {
        int px = SIDE * SIDE;
        float[] x = new float[indices.length * px];
        long[] y = new long[indices.length];
        for (int b = 0; b < indices.length; b++) {
            int i = indices[b];
            if (i < 0 || i >= count) {
                throw new IndexOutOfBoundsException("MNIST index " + i + " outside [0, " + count + ")");
            }
            for (int p = 0; p < px; p++) {
                // ToTensor (u8 / 255) then x * 2 - 1, in float32 like torchvision
                float v = (images[i * px + p] & 0xff) / 255.0f;
                x[b * px + p] = v * 2.0f - 1.0f;
            }
            y[b] = labels[i];
        }
        Map<String, NDArray> batch = new LinkedHashMap<>();
        batch.put("jpg", Tensors.create(manager, x, new Shape(indices.length, 1, SIDE, SIDE)));
        batch.put("cls", Tensors.create(manager, y, new Shape(indices.length)));
        return batch;
    }
}
