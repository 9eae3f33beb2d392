package io.github.sgm4j.io.pickle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;

/**
 * A Python {@code dict} or {@code collections.OrderedDict}: insertion-ordered, keys compared by the
 * unpickler's bounded key order (identity semantics for equality of the dictionary itself).
 */
public final class PickleDict {

    private final KeyOrder order;
    private final TreeMap<Object, Integer> index;
    private final List<Object> keys = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();
    private final boolean ordered;
    private Object state;

    PickleDict(KeyOrder order, boolean ordered) {
        this.order = order;
        this.index = new TreeMap<>(order);
        this.ordered = ordered;
    }

    void put(Object key, Object value) {
        if (!KeyOrder.isKey(key)) {
            throw new PickleException("unhashable " + PickleValues.typeName(key) + " used as a dict key");
        }
        Integer at = index.get(key);
        if (at != null) {
            values.set(at, value);
        } else {
            index.put(key, keys.size());
            keys.add(key);
            values.add(value);
        }
    }

    void setState(Object s) {
        state = s;
    }

    /**
     * Whether the pickle built a {@code collections.OrderedDict} (rather than a plain dict).
     *
     * @return true for an OrderedDict
     */
    public boolean isOrdered() {
        return ordered;
    }

    /**
     * Number of entries.
     *
     * @return the size
     */
    public int size() {
        return keys.size();
    }

    /**
     * The value of {@code key}.
     *
     * @param key a string, number, tuple, ... (compared as Python would for these types)
     * @return the value, or null when absent (or when the value is Python {@code None})
     */
    public Object get(Object key) {
        if (!KeyOrder.isKey(key)) {
            return null;
        }
        Integer at = index.get(key);
        return at == null ? null : values.get(at);
    }

    /**
     * Whether {@code key} is present.
     *
     * @param key the key
     * @return true when present
     */
    public boolean containsKey(Object key) {
        return KeyOrder.isKey(key) && index.containsKey(key);
    }

    /**
     * The keys in insertion order.
     *
     * @return an unmodifiable list
     */
    public List<Object> keys() {
        return Collections.unmodifiableList(keys);
    }

    /**
     * The values in insertion order (parallel to {@link #keys()}).
     *
     * @return an unmodifiable list
     */
    public List<Object> values() {
        return Collections.unmodifiableList(values);
    }

    /**
     * Instance attributes set by a BUILD opcode (an OrderedDict's {@code _metadata}), or null.
     *
     * @return the recorded state
     */
    public Object state() {
        return state;
    }

    KeyOrder keyOrder() {
        return order;
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
