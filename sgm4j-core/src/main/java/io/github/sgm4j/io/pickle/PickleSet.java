package io.github.sgm4j.io.pickle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

/** A Python {@code set} or {@code frozenset}: insertion-ordered elements, compared by the bounded key order. */
public final class PickleSet {

    private final TreeSet<Object> index;
    private final List<Object> items = new ArrayList<>();
    private final boolean frozen;

    PickleSet(KeyOrder order, boolean frozen) {
        this.index = new TreeSet<>(order);
        this.frozen = frozen;
    }

    void add(Object item) {
        if (!KeyOrder.isKey(item)) {
            throw new PickleException("unhashable " + PickleValues.typeName(item) + " used as a set element");
        }
        if (index.add(item)) {
            items.add(item);
        }
    }

    /**
     * Whether this is a {@code frozenset}.
     *
     * @return true for a frozenset
     */
    public boolean isFrozen() {
        return frozen;
    }

    /**
     * The elements in insertion order.
     *
     * @return an unmodifiable list
     */
    public List<Object> items() {
        return Collections.unmodifiableList(items);
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
