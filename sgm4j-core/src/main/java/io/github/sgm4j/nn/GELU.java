package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/** Port of {@code torch.nn.GELU()} (exact erf form). */
public class GELU extends Module implements UnaryModule {

    @Override
    public NDArray forward(NDArray x) {
        return F.gelu(x);
    }
}
