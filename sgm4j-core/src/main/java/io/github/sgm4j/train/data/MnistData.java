package io.github.sgm4j.train.data;

import java.nio.file.Path;
import java.util.List;

/**
 * MNIST or Fashion-MNIST from IDX files (targets {@code sgm4j.data.Mnist} and {@code
 * sgm.data.mnist.MNISTLoader}) through {@link MnistDataset}: {@code jpg} {@code (1, size, size)} in
 * [-1, 1] ({@code u8 / 255 * 2 - 1}, as sgm's {@code ToTensor} then {@code x * 2 - 1}) and {@code
 * cls}. At {@code size} 28 the values equal {@link MnistDataset#gather}; a larger size either pads
 * with black ({@code -1}; {@code (size - 28) / 2} rows and columns before, the rest after) or
 * resizes with {@link Resampler} (clamped to [0, 1] before scaling); a smaller size resizes.
 *
 * <p>Each epoch's order is {@link MnistDataset#permutation}, so the loader's batches equal the
 * batches {@link MnistDataset#batch} gives for the same seed and step.
 */
public final class MnistData implements Dataset {

    /**
     * The settings.
     *
     * @param root the directory of the IDX files
     * @param train the training split (else the test split)
     * @param size the output side
     * @param pad pad to {@code size} (else resize); needs {@code size >= 28}
     */
    public record Params(Path root, boolean train, int size, boolean pad) {
        /**
         * Checks the size.
         *
         * @param root the IDX directory
         * @param train the training split
         * @param size the output side
         * @param pad pad (else resize)
         * @throws IllegalArgumentException when {@code size < 1}, or padding to less than 28
         */
        public Params {
            if (size < 1 || (pad && size < MnistDataset.SIDE)) {
                throw new IllegalArgumentException("size " + size + (pad ? " is below 28 and cannot be padded to" : " must be at least 1"));
            }
        }
    }

    private final Params params;
    private final MnistDataset data;

    /**
     * Loads the IDX files.
     *
     * @param params the settings
     * @throws DataException when the files are missing or malformed
     */
    public MnistData(Params params) {
        this.params = params;
        this.data = MnistDataset.load(params.root(), params.train());
    }

    /**
     * The underlying IDX data.
     *
     * @return the data set
     */
    public MnistDataset data() {
        return data;
    }

    @Override
    public String description() {
        return "MNIST IDX " + params.root() + " (" + (params.train() ? "train" : "test") + ", " + data.size() + " images)";
    }

    @Override
    public long size() {
        return data.size();
    }

    @Override
    public List<String> keys() {
        return List.of("jpg", "cls");
    }

    @Override
    public ItemStream open(long epoch, long seed, boolean shuffle) {
        int n = data.size();
        int[] order = shuffle ? data.permutation(seed, epoch) : null;
        return ItemStream.ofIndices(n, order, this::item);
    }

    private Item item(int i) {
        String name = params.root() + "[" + (params.train() ? "train" : "test") + " " + i + "]";
        return new Item() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Sample decode(SeededRandom rng) {
                int side = MnistDataset.SIDE;
                int[] px = data.image(i);
                int size = params.size();
                float[] out;
                if (size == side) {
                    out = new float[side * side];
                    for (int p = 0; p < out.length; p++) {
                        out[p] = px[p] / 255.0f * 2.0f - 1.0f;
                    }
                } else if (params.pad()) {
                    out = new float[size * size];
                    java.util.Arrays.fill(out, -1.0f);
                    int off = (size - side) / 2;
                    for (int y = 0; y < side; y++) {
                        for (int x = 0; x < side; x++) {
                            out[(y + off) * size + x + off] = px[y * side + x] / 255.0f * 2.0f - 1.0f;
                        }
                    }
                } else {
                    float[] u = new float[side * side];
                    for (int p = 0; p < u.length; p++) {
                        u[p] = px[p] / 255.0f;
                    }
                    out = Resampler.clamp01(Resampler.resize(u, 1, side, side, size, size));
                    for (int p = 0; p < out.length; p++) {
                        out[p] = out[p] * 2.0f - 1.0f;
                    }
                }
                return new Sample(name).image("jpg", new Sample.Image(1, size, size, out)).label("cls", data.label(i));
            }
        };
    }
}
