package io.github.sgm4j.modules.diffusionmodules.guiders;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.guiders.VanillaCFG}: classifier-free guidance
 * {@code x_u + scale * (x_c - x_u)}.
 *
 * <p>{@link #prepareInputs} doubles the batch as the reference does: {@code x} and {@code sigma}
 * repeated, and {@code vector} / {@code crossattn} / {@code concat} concatenated as {@code cat([uc,
 * c])} (unconditional first). Other keys must be identical in both and are passed once.
 */
public class VanillaCFG implements Guider {

    /** Keys that are concatenated unconditional-first. */
    public static final List<String> CAT_KEYS = List.of("vector", "crossattn", "concat");

    /**
     * Constructor arguments (sgm has no default scale).
     *
     * @param scale the guidance scale: {@code uc + scale * (c - uc)} (1 gives the conditional output)
     */
    public record Params(double scale) {}

    private final double scale;

    /**
     * Builds the guider.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public VanillaCFG(Params params) {
        this.scale = params.scale();
    }

    /**
     * The guidance scale.
     *
     * @return the guidance scale
     */
    public double scale() {
        return scale;
    }

    @Override
    public NDArray apply(NDArray x, NDArray sigma) {
        // x_u, x_c = x.chunk(2)
        NDList parts = x.split(2, 0);
        try (NDArray xU = parts.get(0);
                NDArray xC = parts.get(1);
                NDArray diff = xC.sub(xU);
                NDArray scaled = F.mul(diff, (float) scale)) {
            return xU.add(scaled);
        }
    }

    /**
     * @throws IllegalArgumentException if {@code uc} is null or lacks a key of {@code c}, or a
     *     non-concatenated key differs between {@code c} and {@code uc}
     */
    @Override
    public Inputs prepareInputs(NDArray x, NDArray sigma, Map<String, NDArray> c, Map<String, NDArray> uc) {
        if (uc == null) {
            throw new IllegalArgumentException(
                    "VanillaCFG needs unconditional conditioning (uc), got none; cond keys " + c.keySet());
        }
        Map<String, NDArray> cOut = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : c.entrySet()) {
            String k = e.getKey();
            NDArray u = uc.get(k);
            if (u == null) {
                throw new IllegalArgumentException("VanillaCFG: unconditional conditioning has no '" + k
                        + "' (cond has " + c.keySet() + ", uc has " + uc.keySet() + ")");
            }
            if (CAT_KEYS.contains(k)) {
                cOut.put(k, NDArrays.concat(new NDList(u, e.getValue()), 0));
            } else {
                if (u != e.getValue() && !u.contentEquals(e.getValue())) {
                    throw new IllegalArgumentException("VanillaCFG: cond['" + k + "'] and uc['" + k
                            + "'] must be equal (only vector/crossattn/concat are guided)");
                }
                cOut.put(k, e.getValue());
            }
        }
        NDArray x2 = NDArrays.concat(new NDList(x, x), 0);
        NDArray s2 = NDArrays.concat(new NDList(sigma, sigma), 0);
        return new Inputs(x2, s2, cOut);
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.guiders.VanillaCFG} params ({@code scale}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code VanillaCFG}
     */
    public static VanillaCFG fromConfig(ConfigNode p, Instantiator inst) {
        return new VanillaCFG(new Params(p.getDouble("scale")));
    }
}
