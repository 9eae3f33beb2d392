package io.github.sgm4j.modules.diffusionmodules.wrappers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.nn.Module;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.wrappers.OpenAIWrapper}: holds the UNet as {@code
 * diffusion_model} (engine keys {@code model.diffusion_model.*}) and routes the conditioning dict:
 * {@code concat} is concatenated to {@code x} along channels (when present), {@code crossattn}
 * becomes the context and {@code vector} the {@code y} input.
 */
public class OpenAIWrapper extends Module implements DiffusionNetwork {

    private final UNetModel diffusionModel;

    /**
     * {@code OpenAIWrapper(diffusion_model)}.
     *
     * @param diffusionModel the wrapped UNet
     */
    public OpenAIWrapper(UNetModel diffusionModel) {
        this.diffusionModel = register("diffusion_model", diffusionModel);
    }

    /**
     * The wrapped UNet.
     *
     * @return the wrapped UNet
     */
    public UNetModel getDiffusionModel() {
        return diffusionModel;
    }

    @Override
    public NDArray forward(NDArray x, NDArray t, Map<String, NDArray> c) {
        NDArray concat = c == null ? null : c.get("concat");
        NDArray input = x;
        if (concat != null && concat.size() > 0) {
            if (concat.getShape().dimension() != x.getShape().dimension() || concat.getShape().get(0) != x.getShape().get(0)) {
                throw new IllegalArgumentException("OpenAIWrapper: concat conditioning " + concat.getShape()
                        + " cannot be concatenated to x " + x.getShape() + " along channels");
            }
            input = NDArrays.concat(new NDList(x, concat), 1);
        }
        try {
            return diffusionModel.forward(input, t, c == null ? null : c.get("crossattn"), c == null ? null : c.get("vector"));
        } finally {
            if (input != x) {
                input.close();
            }
        }
    }
}
