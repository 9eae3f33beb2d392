package io.github.sgm4j.io.pickle;

/**
 * A reference to a Python global ({@code module.name}) read from a pickle: only a name, never looked
 * up or run.
 *
 * @param module the module, e.g. {@code torch._utils}
 * @param name the attribute, e.g. {@code _rebuild_tensor_v2}
 */
public record PickleGlobal(String module, String name) {

    /**
     * The dotted name.
     *
     * @return {@code module + "." + name}
     */
    public String qualifiedName() {
        return module + "." + name;
    }

    /**
     * Whether this is {@code module.name}.
     *
     * @param m the module
     * @param n the name
     * @return true when both match
     */
    public boolean is(String m, String n) {
        return module.equals(m) && name.equals(n);
    }

    @Override
    public String toString() {
        return qualifiedName();
    }
}
