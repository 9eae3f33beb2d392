package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/** Port of {@code torch.nn.Identity}: returns its input (a new handle on the same data, kept in the autograd graph). */
public class Identity extends Module implements UnaryModule {

    /**
     * Builds {@code torch.nn.Identity(*args)}: any arguments are accepted and unused, as in torch.
     *
     * @param params the params node; every key is marked as used
     * @param inst the instantiator (unused)
     * @return a new identity layer
     */
    public static Identity fromConfig(io.github.sgm4j.config.ConfigNode params, io.github.sgm4j.config.Instantiator inst) {
        params.ignore(params.keys().toArray(new String[0]));
        return new Identity();
    }

    @Override
    public NDArray forward(NDArray x) {
        return F.alias(x);
    }
}
