package io.github.sgm4j.train.data;

import java.util.Locale;

/**
 * The image pipeline of SDXL-style training, as sgm's batch keys expect it: resize the shorter side
 * to {@code size} ({@link Resampler}, the longer side to {@code floor(size * long / short)} as
 * torchvision's {@code Resize(int)}; the result clamped to [0, 1] as PIL's 8-bit resize is), crop {@code size x size} (centre, or at a random offset),
 * optionally flip horizontally with probability 1/2, scale to [-1, 1] ({@code x * 2 - 1}).
 *
 * <p>Sets {@code jpg} {@code (3, size, size)}, {@code original_size_as_tuple} {@code (h, w)} of the
 * file, {@code crop_coords_top_left} {@code (top, left)} of the crop in the resized image and {@code
 * target_size_as_tuple} {@code (size, size)} (float vectors, stacked to {@code (B, 2)}: what
 * sgm's {@code ConcatTimestepEmbedderND} embeds).
 *
 * <p>Random draws, in this order, from the item's stream: the crop's top then left offset (random
 * crop only), then the flip (when enabled). The centre crop's offset is {@code round((h - size) /
 * 2)} with halves to even, as torchvision's {@code CenterCrop}.
 *
 * @param size the output side, at least 1
 * @param randomCrop crop at a random offset (else centred)
 * @param flip flip horizontally with probability 1/2
 * @param rejectSmall reject images whose shorter side is below {@code size} (else they are enlarged)
 */
public record ImageTransform(int size, boolean randomCrop, boolean flip, boolean rejectSmall) {

    /**
     * Checks the size.
     *
     * @param size the output side
     * @param randomCrop crop at a random offset
     * @param flip random horizontal flips
     * @param rejectSmall reject images smaller than {@code size}
     * @throws IllegalArgumentException when {@code size < 1}
     */
    public ImageTransform {
        if (size < 1) {
            throw new IllegalArgumentException("size must be at least 1, got " + size);
        }
    }

    /**
     * Transforms a decoded image and puts the four image keys into {@code out}.
     *
     * @param img the decoded image
     * @param rng the item's random stream
     * @param out the sample to fill
     * @throws DataException when the image is smaller than {@code size} and {@code rejectSmall} is set
     */
    public void apply(ImageDecoder.Decoded img, SeededRandom rng, Sample out) {
        int h = img.height();
        int w = img.width();
        int shorter = Math.min(h, w);
        if (shorter < size && rejectSmall) {
            throw new DataException(String.format(Locale.ROOT, "%s: %dx%d (h x w) is smaller than size %d"
                    + " (small_images: reject)", out.source(), h, w, size));
        }
        int rh;
        int rw;
        if (h <= w) {
            rh = size;
            rw = (int) ((long) size * w / h);
        } else {
            rw = size;
            rh = (int) ((long) size * h / w);
        }
        float[] x = img.rgb();
        if (rh != h || rw != w) {
            x = Resampler.clamp01(Resampler.resize(x, 3, h, w, rh, rw));
        }
        int top;
        int left;
        if (randomCrop) {
            top = rng.nextInt(rh - size + 1);
            left = rng.nextInt(rw - size + 1);
        } else {
            top = (int) Math.rint((rh - size) / 2.0);
            left = (int) Math.rint((rw - size) / 2.0);
        }
        boolean mirror = flip && rng.nextBoolean();
        float[] y = new float[3 * size * size];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < size; i++) {
                int src = c * rh * rw + (top + i) * rw + left;
                int dst = c * size * size + i * size;
                for (int j = 0; j < size; j++) {
                    float v = x[src + (mirror ? size - 1 - j : j)];
                    y[dst + j] = v * 2.0f - 1.0f;
                }
            }
        }
        out.image("jpg", new Sample.Image(3, size, size, y));
        out.vector("original_size_as_tuple", h, w);
        out.vector("crop_coords_top_left", top, left);
        out.vector("target_size_as_tuple", size, size);
    }
}
