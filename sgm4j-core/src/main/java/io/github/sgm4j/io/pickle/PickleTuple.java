package io.github.sgm4j.io.pickle;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A Python tuple: immutable. Equality is identity (no recursive {@code equals}/{@code hashCode},
 * which a hostile pickle could make exponential or infinitely deep); dictionary keys are compared
 * by the unpickler's own bounded ordering.
 */
public final class PickleTuple {

    /** Deepest tuple nesting accepted in a dictionary key or set element. */
    static final int MAX_KEY_DEPTH = 32;

    private final Object[] items;
    private final int depth;
    private final boolean hashable;

    PickleTuple(Object[] items) {
        this.items = items;
        int d = 0;
        boolean h = true;
        for (Object o : items) {
            if (o instanceof PickleTuple t) {
                d = Math.max(d, t.depth);
                h &= t.hashable;
            } else {
                h &= KeyOrder.isHashableLeaf(o);
            }
        }
        this.depth = d + 1;
        this.hashable = h && depth <= MAX_KEY_DEPTH;
    }

    /**
     * Number of elements.
     *
     * @return the length
     */
    public int size() {
        return items.length;
    }

    /**
     * One element.
     *
     * @param i the index
     * @return the element (may be null for Python {@code None})
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public Object get(int i) {
        return items[i];
    }

    /**
     * The elements.
     *
     * @return an unmodifiable list view
     */
    public List<Object> asList() {
        return Collections.unmodifiableList(Arrays.asList(items));
    }

    /** Nesting depth (1 for a tuple without tuple elements). */
    int depth() {
        return depth;
    }

    /** Whether Python could hash it and sgm4j accepts it as a key (not too deep). */
    boolean hashable() {
        return hashable;
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
