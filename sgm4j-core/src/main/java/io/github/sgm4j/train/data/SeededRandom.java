package io.github.sgm4j.train.data;

/**
 * The random stream of the data pipeline: SplitMix64 (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014), written out here so that the sequence is fixed by
 * this file and not by the JDK's {@code SplittableRandom} implementation: the same seed gives the
 * same epoch orders, crops and flips on every JVM. It is not torch's generator, so the sample order
 * differs from a PyTorch {@code DataLoader} with the same seed.
 *
 * <p>A stream is derived from a tuple of longs ({@link #of}): the loader uses {@code (seed, epoch,
 * index)} for a sample's crop and flip and {@code (seed, epoch, tag)} for an epoch's order, so no
 * stream depends on which thread decodes which sample. Not thread-safe: one instance per user.
 */
public final class SeededRandom {

    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    /**
     * A stream starting from {@code seed}.
     *
     * @param seed the initial state
     */
    public SeededRandom(long seed) {
        this.state = seed;
    }

    /**
     * A stream keyed by a tuple of longs: each part is mixed in turn, so {@code of(a, b)} and {@code
     * of(b, a)} are unrelated streams.
     *
     * @param parts the key, e.g. {@code (seed, epoch, index)}
     * @return a new stream
     */
    public static SeededRandom of(long... parts) {
        long h = 0x5DEECE66DL;
        for (long p : parts) {
            h = mix64(h + GAMMA) ^ mix64(p * GAMMA + 0x632BE59BD9B4E019L);
        }
        return new SeededRandom(h);
    }

    /**
     * The next 64 random bits.
     *
     * @return a uniformly distributed long
     */
    public long nextLong() {
        state += GAMMA;
        return mix64(state);
    }

    /**
     * A uniform integer in {@code [0, bound)}, without modulo bias (rejection on 31-bit draws).
     *
     * @param bound the exclusive upper bound, at least 1
     * @return the integer
     * @throws IllegalArgumentException when {@code bound < 1}
     */
    public int nextInt(int bound) {
        if (bound < 1) {
            throw new IllegalArgumentException("bound must be at least 1, got " + bound);
        }
        while (true) {
            int bits = (int) (nextLong() >>> 33);
            int val = bits % bound;
            if (bits - val + (bound - 1) >= 0) {
                return val;
            }
        }
    }

    /**
     * A fair coin.
     *
     * @return true with probability 1/2
     */
    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    /**
     * A random permutation of {@code [0, n)} (Fisher–Yates from the last element down, drawing
     * {@code nextInt(i + 1)} for {@code i = n-1 .. 1}).
     *
     * @param n the length
     * @return a new permutation
     */
    public int[] permutation(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
