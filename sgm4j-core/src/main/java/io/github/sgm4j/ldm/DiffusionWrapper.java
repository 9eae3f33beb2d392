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
 *
 * <p>The reference's {@code hybrid-adm} and {@code crossattn-adm} keys (added after the ldm
 * release, in Stable Diffusion 2's fork) are not supported.
 */
public class DiffusionWrapper extends Module {

    /**
     * The accepted non-null conditioning keys: {@code concat}, {@code crossattn}, {@code hybrid}
     * and {@code adm} (the reference's {@code None} is Java null). Immutable.
     */
    public static final Set<String> CONDITIONING_KEYS = Set.of("concat", "crossattn", "hybrid", "adm");

    private final UNetModel diffusionModel;
    private final String conditioningKey;

    /**
     * {@code DiffusionWrapper(diff_model_config, conditioning_key)} with the UNet already built:
     * registers {@code diffusionModel} as the child {@code diffusion_model}.
     *
     * @param diffusionModel the UNet; its input channels must account for the {@code concat}
     *     channels, its {@code context_dim} for {@code crossattn}, its {@code num_classes} or
     *     {@code adm_in_channels} for {@code adm}
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

    /**
     * The wrapped UNet ({@code self.diffusion_model}).
     *
     * @return the registered child module (not a copy)
     */
    public UNetModel getDiffusionModel() {
        return diffusionModel;
    }

    /**
     * The conditioning key ({@code self.conditioning_key}).
     *
     * @return concat, crossattn, hybrid or adm, or null for an unconditional model
     */
    public String getConditioningKey() {
        return conditioningKey;
    }

    /**
     * {@code forward(x, t, c_concat, c_crossattn)}: null key, {@code diffusion_model(x, t)};
     * {@code concat}, {@code diffusion_model(cat([x] + c_concat, 1), t)}; {@code crossattn}, {@code
     * diffusion_model(x, t, context=cat(c_crossattn, 1))}; {@code hybrid}, both; {@code adm},
     * {@code diffusion_model(x, t, y=c_crossattn[0])}. The inputs are not closed.
     *
     * @param x [B, C, H, W]
     * @param t [B] timesteps
     * @param cConcat tensors concatenated to {@code x} on channels (concat, hybrid), or null
     * @param cCrossattn contexts concatenated on the token axis (crossattn, hybrid), or the {@code y}
     *     vector as its first entry (adm), or null
     * @return the UNet output [B, out_channels, H, W] (eps for an eps-parameterized model), a new
     *     array the caller closes
     * @throws IllegalArgumentException if the conditioning the key needs is null or empty, or the
     *     UNet rejects the shapes
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
