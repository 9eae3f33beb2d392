package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/** Port of {@code torch.nn.SiLU}: {@code x * sigmoid(x)}. */
public class SiLU extends Module implements UnaryModule {

    @Override
    public NDArray forward(NDArray x) {
        return F.silu(x);
    }
}
