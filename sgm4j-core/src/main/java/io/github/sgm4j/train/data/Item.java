package io.github.sgm4j.train.data;

/**
 * One not-yet-decoded entry of a {@link Dataset}: a file to read, or the bytes of a tar shard's
 * members. {@link #decode} runs on a loader thread; it must depend only on the item and the random
 * stream it is given, so the result does not depend on which thread runs it or when.
 */
public interface Item {

    /**
     * The file or shard member this item comes from, for messages.
     *
     * @return a name such as {@code photos/cat/001.jpg} or {@code shard-000003.tar:000123}
     */
    String name();

    /**
     * Decodes and transforms the item.
     *
     * @param rng the stream of this item's position (crop offsets, flips)
     * @return the sample
     * @throws DataException when the item is corrupt, truncated, unreadable or rejected; the message
     *     names the file
     */
    Sample decode(SeededRandom rng);

    /**
     * An item that fails with {@code error} when decoded (a shard that could not be read further, a
     * member group without an image), so the loader reports or skips it like a corrupt file.
     *
     * @param name the name of the bad entry
     * @param error the error to throw
     * @return the item
     */
    static Item failed(String name, DataException error) {
        return new Item() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Sample decode(SeededRandom rng) {
                throw error;
            }
        };
    }
}
