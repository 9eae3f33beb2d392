package io.github.sgm4j.train.data;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One decoded training example: sgm batch keys to plain Java values, in insertion order. The value
 * kinds are those {@link Batch#collate} knows how to stack: an {@link Image} (channels-first
 * float32), a label ({@code long}, stacked to int64 {@code (B)}), a vector ({@code float[]},
 * stacked to float32 {@code (B, len)}, e.g. {@code original_size_as_tuple}) and a text ({@code
 * String}, kept as a list of strings). Built by one decoding thread, then read by the loader.
 */
public final class Sample {

    /**
     * A channels-first image.
     *
     * @param channels C
     * @param height H
     * @param width W
     * @param data the values in {@code (C, H, W)} row-major order, {@code C*H*W} of them
     */
    public record Image(int channels, int height, int width, float[] data) {
        /**
         * Checks the length.
         *
         * @param channels C
         * @param height H
         * @param width W
         * @param data the {@code C*H*W} values
         * @throws IllegalArgumentException when {@code data.length != C*H*W} or a side is not positive
         */
        public Image {
            if (channels < 1 || height < 1 || width < 1 || data.length != channels * height * width) {
                throw new IllegalArgumentException("image of " + channels + "x" + height + "x" + width + " with "
                        + data.length + " values");
            }
        }
    }

    private final String source;
    private final Map<String, Object> values = new LinkedHashMap<>();

    /**
     * An empty sample.
     *
     * @param source the file (or shard member) it comes from, for error messages
     */
    public Sample(String source) {
        this.source = source;
    }

    /**
     * The file (or shard member) this sample was decoded from.
     *
     * @return the source name
     */
    public String source() {
        return source;
    }

    /**
     * Sets an image value.
     *
     * @param key the batch key, e.g. {@code jpg}
     * @param image the image
     * @return this sample
     */
    public Sample image(String key, Image image) {
        values.put(key, image);
        return this;
    }

    /**
     * Sets an integer label.
     *
     * @param key the batch key, e.g. {@code cls}
     * @param label the value
     * @return this sample
     */
    public Sample label(String key, long label) {
        values.put(key, label);
        return this;
    }

    /**
     * Sets a vector value (a size or crop conditioning).
     *
     * @param key the batch key, e.g. {@code original_size_as_tuple}
     * @param vector the values; not copied
     * @return this sample
     */
    public Sample vector(String key, float... vector) {
        values.put(key, vector);
        return this;
    }

    /**
     * Sets a text value.
     *
     * @param key the batch key, e.g. {@code txt}
     * @param text the text
     * @return this sample
     */
    public Sample text(String key, String text) {
        values.put(key, text);
        return this;
    }

    /**
     * The keys, in insertion order.
     *
     * @return an unmodifiable view
     */
    public Set<String> keys() {
        return Collections.unmodifiableSet(values.keySet());
    }

    /**
     * The value of {@code key}: an {@link Image}, a {@code Long}, a {@code float[]} or a {@code
     * String}.
     *
     * @param key the key
     * @return the value, or null when absent
     */
    public Object get(String key) {
        return values.get(key);
    }
}
