package io.github.sgm4j.train.data;

import java.util.List;

/**
 * A training set: a source of {@link Item}s that a {@link Loader} decodes (on its threads) into
 * {@link Sample}s with sgm's batch keys and stacks into {@link Batch}es. Built from a config's
 * {@code data:} section by {@link Datasets#fromConfig}.
 *
 * <p>Every epoch's order is a pure function of {@code (seed, epoch)}, and every item's random
 * stream one of {@code (seed, epoch, index)}, so a run resumed at a {@link Position} sees the same
 * batches as the uninterrupted run. Implementations are immutable after construction and
 * thread-safe.
 */
public interface Dataset {

    /**
     * What this is, for logs and errors.
     *
     * @return e.g. {@code "image folder photos/ (1200 images, 3 classes)"}
     */
    String description();

    /**
     * Items per epoch.
     *
     * @return the count, or -1 when it is only known after reading an epoch (tar shards)
     */
    long size();

    /**
     * The batch keys each sample carries.
     *
     * @return the keys, in sample order
     */
    List<String> keys();

    /**
     * Opens the items of {@code epoch}.
     *
     * @param epoch the 0-based epoch
     * @param seed the run seed
     * @param shuffle whether the order is shuffled (else the dataset's natural order, the same each epoch)
     * @return a new stream, closed by the caller
     * @throws DataException when the data cannot be opened
     */
    ItemStream open(long epoch, long seed, boolean shuffle);
}
