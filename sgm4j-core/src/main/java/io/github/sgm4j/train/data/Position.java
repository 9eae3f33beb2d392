package io.github.sgm4j.train.data;

/**
 * A place in the endless sequence of a {@link Loader}: the 0-based epoch and the 0-based index of
 * the next item to read in that epoch's order (items that were skipped as bad files count). {@link
 * Loader#seek(Position)} to the position a run saved gives the same batches the run would have seen.
 *
 * @param epoch the 0-based epoch
 * @param index the 0-based item index within the epoch
 */
public record Position(long epoch, long index) {

    /**
     * Checks the components.
     *
     * @param epoch the 0-based epoch
     * @param index the 0-based item index
     * @throws IllegalArgumentException when a component is negative
     */
    public Position {
        if (epoch < 0 || index < 0) {
            throw new IllegalArgumentException("data position must be non-negative, got epoch " + epoch + " index "
                    + index);
        }
    }

    /**
     * The position in the form {@link #parse} reads ({@code "epoch:index"}), for checkpoint metadata.
     *
     * @return e.g. {@code "3:1024"}
     */
    @Override
    public String toString() {
        return epoch + ":" + index;
    }

    /**
     * Reads a position written by {@link #toString()}.
     *
     * @param text {@code "epoch:index"}
     * @return the position
     * @throws IllegalArgumentException when the text is not two non-negative integers separated by a colon
     */
    public static Position parse(String text) {
        int colon = text.indexOf(':');
        try {
            if (colon > 0) {
                return new Position(Long.parseLong(text.substring(0, colon)), Long.parseLong(text.substring(colon + 1)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("not a data position (expected \"epoch:index\"): \"" + text + "\"");
    }
}
