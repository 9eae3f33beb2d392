package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code torch.nn.Sequential} filled with {@code add_module(name, layer)}: children keep the names
 * given (e.g. torchvision VGG16 feature indices {@code 4..8} in LPIPS's {@code slice2}), applied in
 * insertion order.
 */
public class NamedSequential extends Module implements UnaryModule {

    private final List<UnaryModule> layers = new ArrayList<>();

    /** An empty sequential. */
    public NamedSequential() {}

    /**
     * {@code add_module(name, layer)}.
     *
     * @param name the attribute name (no dots)
     * @param layer a single-input layer
     * @param <M> the layer type
     * @return {@code layer}
     * @throws IllegalArgumentException if the layer is not a {@link UnaryModule} or the name is taken
     */
    public <M extends Module> M add(String name, M layer) {
        if (!(layer instanceof UnaryModule u)) {
            throw new IllegalArgumentException(
                    "NamedSequential accepts only single-input layers, got " + layer.getClass().getSimpleName());
        }
        register(name, layer);
        layers.add(u);
        return layer;
    }

    /**
     * The layers in order.
     *
     * @return an unmodifiable list
     */
    public List<UnaryModule> layers() {
        return Collections.unmodifiableList(layers);
    }

    /**
     * Applies the layers in order.
     *
     * @param x the input
     * @return the last layer's output (an alias of {@code x} when empty)
     */
    @Override
    public NDArray forward(NDArray x) {
        NDArray h = x;
        for (UnaryModule m : layers) {
            NDArray next = m.forward(h);
            if (h != x) {
                h.close();
            }
            h = next;
        }
        return h == x ? F.alias(x) : h;
    }
}
