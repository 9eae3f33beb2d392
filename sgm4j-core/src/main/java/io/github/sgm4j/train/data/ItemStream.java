package io.github.sgm4j.train.data;

/**
 * The items of one epoch, in that epoch's order. Read by one thread; closed by the reader.
 */
public interface ItemStream extends AutoCloseable {

    /**
     * The next item.
     *
     * @return the item, or null at the end of the epoch
     * @throws DataException when the underlying files cannot be listed or opened at all
     */
    Item next();

    /**
     * Passes over {@code n} items without decoding them (a resume). The default reads them with
     * {@link #next()}.
     *
     * @param n how many items to pass over
     * @return how many were passed over: less than {@code n} only when the epoch ended first
     */
    default long skip(long n) {
        long done = 0;
        while (done < n && next() != null) {
            done++;
        }
        return done;
    }

    /** Releases open files. */
    @Override
    void close();

    /**
     * The items {@code item(order[0]), item(order[1]), ...} of an in-memory data set of {@code n}
     * items ({@code order} null: the natural order {@code 0..n-1}); {@link #skip} is free and {@link
     * #close()} does nothing.
     *
     * @param n the number of items
     * @param order a permutation of {@code [0, n)}, or null
     * @param item makes the item of an index
     * @return a new stream
     */
    static ItemStream ofIndices(int n, int[] order, java.util.function.IntFunction<Item> item) {
        return new ItemStream() {
            private int pos;

            @Override
            public Item next() {
                if (pos >= n) {
                    return null;
                }
                int i = order == null ? pos : order[pos];
                pos++;
                return item.apply(i);
            }

            @Override
            public long skip(long count) {
                long done = Math.min(count, n - pos);
                pos += (int) done;
                return done;
            }

            @Override
            public void close() {}
        };
    }
}
