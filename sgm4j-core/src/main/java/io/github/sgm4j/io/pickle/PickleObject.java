package io.github.sgm4j.io.pickle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An inert placeholder for an object the pickle asked to build with a global that is not on the
 * allow-list (a Lightning callback, {@code argparse.Namespace}, a numpy scalar, {@code posix.system},
 * ...): it records what would have been called and with which arguments, state and items. Nothing is
 * looked up or run. Equality is identity.
 */
public final class PickleObject {

    private final long sequence;
    private final Object callee;
    private final PickleTuple args;
    private final PickleDict kwargs;
    private Object state;
    private final List<Object> items = new ArrayList<>();
    private final List<Object> entries = new ArrayList<>();

    PickleObject(long sequence, Object callee, PickleTuple args, PickleDict kwargs) {
        this.sequence = sequence;
        this.callee = callee;
        this.args = args;
        this.kwargs = kwargs;
    }

    /**
     * The global at the root of the call (for a call of a placeholder, the placeholder's global).
     *
     * @return the global, e.g. {@code posix.system}
     */
    public PickleGlobal global() {
        Object c = callee;
        for (int guard = 0; guard < 10_000 && c instanceof PickleObject p; guard++) {
            c = p.callee;
        }
        return c instanceof PickleGlobal g ? g : new PickleGlobal("?", "?");
    }

    /**
     * What would have been called: a {@link PickleGlobal} or another placeholder.
     *
     * @return the callee
     */
    public Object callee() {
        return callee;
    }

    /**
     * The positional arguments of the call.
     *
     * @return the arguments (an empty tuple for none)
     */
    public PickleTuple args() {
        return args;
    }

    /**
     * The keyword arguments ({@code NEWOBJ_EX}), or null.
     *
     * @return the keyword arguments
     */
    public PickleDict kwargs() {
        return kwargs;
    }

    /**
     * The state given by a BUILD opcode ({@code __setstate__} / {@code __dict__}), or null.
     *
     * @return the state
     */
    public Object state() {
        return state;
    }

    /**
     * Items appended with APPEND / APPENDS / ADDITEMS (a list or set subclass).
     *
     * @return an unmodifiable list
     */
    public List<Object> items() {
        return Collections.unmodifiableList(items);
    }

    /**
     * Key/value pairs set with SETITEM / SETITEMS (a dict subclass), flattened as {@code k0, v0, k1, v1, ...}.
     *
     * @return an unmodifiable list
     */
    public List<Object> entries() {
        return Collections.unmodifiableList(entries);
    }

    long sequence() {
        return sequence;
    }

    void setState(Object s) {
        state = s;
    }

    void addItem(Object o) {
        items.add(o);
    }

    void addEntry(Object k, Object v) {
        entries.add(k);
        entries.add(v);
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
