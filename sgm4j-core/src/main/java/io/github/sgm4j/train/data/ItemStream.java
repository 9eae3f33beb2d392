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
}
