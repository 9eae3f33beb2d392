package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.modules.diffusionmodules.loss_weighting.EpsWeighting}: {@code w =
 * sigma^-2} (torch evaluates {@code ** -2.0} as {@code 1 / (sigma * sigma)}).
 */
public class EpsWeighting implements DiffusionLossWeighting {

    /** Builds the weighting (no parameters). */
    public EpsWeighting() {}

    @Override
    public NDArray apply(NDArray sigma) {
        try (NDArray s2 = sigma.square();
                NDArray ones = sigma.onesLike()) {
            return ones.div(s2);
        }
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code EpsWeighting}
     */
    public static EpsWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new EpsWeighting();
    }
}
