package io.github.sgm4j.io.pickle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A Python {@code list}. Equality is identity and {@link #toString()} is bounded: a pickle can nest
 * lists arbitrarily deep or make a list contain itself, which would overflow the stack in {@link
 * java.util.ArrayList}'s recursive {@code toString}/{@code hashCode}/{@code equals}.
 */
public final class PickleList {

    private final List<Object> items;

    PickleList(List<Object> items) {
        this.items = items;
    }

    PickleList() {
        this(new ArrayList<>());
    }

    void add(Object o) {
        items.add(o);
    }

    /**
     * Number of elements.
     *
     * @return the length
     */
    public int size() {
        return items.size();
    }

    /**
     * One element.
     *
     * @param i the index
     * @return the element (may be null for Python {@code None})
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public Object get(int i) {
        return items.get(i);
    }

    /**
     * The elements.
     *
     * @return an unmodifiable view
     */
    public List<Object> items() {
        return Collections.unmodifiableList(items);
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
