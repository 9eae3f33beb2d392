package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/**
 * Port of {@code torch.nn.Sequential} over {@link UnaryModule}s: children named by index
 * (parameterless layers such as SiLU keep their index), applied in order.
 */
public class Sequential extends ModuleList<Module> implements UnaryModule {

    /**
     * A sequential of the given layers, each of which must implement {@link UnaryModule}.
     *
     * @param layers the layers, registered as children {@code 0, 1, ...}
     * @throws IllegalArgumentException if a layer does not implement {@link UnaryModule}
     */
    public Sequential(Module... layers) {
        for (Module m : layers) {
            add(m);
        }
    }

    @Override
    public Module add(Module module) {
        if (!(module instanceof UnaryModule)) {
            throw new IllegalArgumentException(
                    "Sequential accepts only single-input layers, got " + module.getClass().getSimpleName());
        }
        return super.add(module);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray h = x;
        java.util.List<Module> layers = items();
        for (int i = 0; i < layers.size(); i++) {
            Module m = layers.get(i);
            NDArray next;
            if (m instanceof GroupNorm gn && i + 1 < layers.size() && layers.get(i + 1).getClass() == SiLU.class) {
                // GroupNorm then SiLU: one fused call where F.groupNormSilu has one (equal to float rounding)
                next = gn.forwardSilu(h);
                i++;
            } else {
                next = ((UnaryModule) m).forward(h);
            }
            if (h != x) {
                h.close();
            }
            h = next;
        }
        return h == x ? F.alias(x) : h;
    }
}
