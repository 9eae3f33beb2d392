package io.github.sgm4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Port of {@code torch.nn.ModuleList}: children named by their Python index ({@code 0}, {@code
 * 1}, ...), parameterless entries included, so keys such as {@code input_blocks.3.0.weight} match.
 *
 * @param <M> the element type
 */
public class ModuleList<M extends Module> extends Module {

    private final List<M> items = new ArrayList<>();

    /** An empty list. */
    public ModuleList() {}

    /**
     * Appends a module under the next index and returns it.
     *
     * @param module the module, registered as child {@code size()}
     * @return {@code module}
     */
    public M add(M module) {
        register(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    /**
     * The module at Python index {@code i}.
     *
     * @param i the index, from 0
     * @return the module
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public M get(int i) {
        return items.get(i);
    }

    /**
     * Number of entries.
     *
     * @return the number of modules added
     */
    public int size() {
        return items.size();
    }

    /**
     * The entries in index order.
     *
     * @return an unmodifiable view
     */
    public List<M> items() {
        return Collections.unmodifiableList(items);
    }
}
