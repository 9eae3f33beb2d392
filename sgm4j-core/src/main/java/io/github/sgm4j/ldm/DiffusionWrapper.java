package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import java.util.List;
import java.util.Set;

/**
 * Port of {@code ldm.models.diffusion.ddpm.DiffusionWrapper}: holds the UNet as {@code
 * diffusion_model} (checkpoint keys {@code model.diffusion_model.*}) and routes the conditioning by
 * {@code conditioning_key}: {@code null} (none), {@code concat} (channel concat), {@code crossattn}
 * (context), {@code hybrid} (both) or {@code adm} (class/vector {@code y}).
 */
public class DiffusionWrapper extends Module {

    /** The accepted conditioning keys ({@code None} is Java null). */
    public static final Set<String> CONDITIONING_KEYS = Set.of("concat", "crossattn", "hybrid", "adm");

    private final UNetModel diffusionModel;
    private final String conditioningKey;

    /**
     * Wraps {@code diffusionModel}.
     *
     * @param conditioningKey null, concat, crossattn, hybrid or adm
     * @throws IllegalArgumentException for another conditioning key
     */
    public DiffusionWrapper(UNetModel diffusionModel, String conditioningKey) {
        if (conditioningKey != null && !CONDITIONING_KEYS.contains(conditioningKey)) {
            throw new IllegalArgumentException("conditioning_key must be null, concat, crossattn, hybrid or adm, got \""
                    + conditioningKey + "\"");
        }
        this.diffusionModel = register("diffusion_model", diffusionModel);
        this.conditioningKey = conditioningKey;
    }

    /** The wrapped UNet. */
    public UNetModel getDiffusionModel() {
        return diffusionModel;
    }

    /** The conditioning key, or null. */
    public String getConditioningKey() {
        return conditioningKey;
    }

    /**
     * {@code forward(x, t, c_concat, c_crossattn)}.
     *
     * @param x [B, C, H, W]
     * @param t [B] timesteps
     * @param cConcat tensors concatenated to {@code x} on channels (concat, hybrid), or null
     * @param cCrossattn contexts concatenated on the token axis (crossattn, hybrid), or the {@code y}
     *     vector as its first entry (adm), or null
     */
    public NDArray forward(NDArray x, NDArray t, List<NDArray> cConcat, List<NDArray> cCrossattn) {
        if (conditioningKey == null) {
            return diffusionModel.forward(x, t, (NDArray) null, null);
        }
        switch (conditioningKey) {
            case "concat": {
                try (NDArray xc = catWith(x, require(cConcat, "c_concat"), 1)) {
                    return diffusionModel.forward(xc, t, (NDArray) null, null);
                }
            }
            case "crossattn": {
                try (NDArray cc = cat(require(cCrossattn, "c_crossattn"), 1)) {
                    return diffusionModel.forward(x, t, cc, null);
                }
            }
            case "hybrid": {
                try (NDArray xc = catWith(x, require(cConcat, "c_concat"), 1);
                        NDArray cc = cat(require(cCrossattn, "c_crossattn"), 1)) {
                    return diffusionModel.forward(xc, t, cc, null);
                }
            }
            case "adm": {
                NDArray cc = require(cCrossattn, "c_crossattn").get(0);
                return diffusionModel.forward(x, t, (NDArray) null, cc);
            }
            default:
                throw new IllegalStateException("conditioning_key " + conditioningKey);
        }
    }

    private List<NDArray> require(List<NDArray> c, String name) {
        if (c == null || c.isEmpty()) {
            throw new IllegalArgumentException("DiffusionWrapper with conditioning_key " + conditioningKey
                    + " needs " + name + " (got none)");
        }
        return c;
    }

    private static NDArray catWith(NDArray x, List<NDArray> rest, int axis) {
        NDList l = new NDList(x);
        l.addAll(rest);
        return NDArrays.concat(l, axis);
    }

    private static NDArray cat(List<NDArray> parts, int axis) {
        if (parts.size() == 1) {
            return F.alias(parts.get(0));
        }
        return NDArrays.concat(new NDList(parts), axis);
    }
}
