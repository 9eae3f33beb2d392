package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/** Port of {@code sgm.modules.diffusionmodules.loss_weighting.UnitWeighting}: {@code w = 1}. */
public class UnitWeighting implements DiffusionLossWeighting {

    /** Builds the weighting (no parameters). */
    public UnitWeighting() {}

    @Override
    public NDArray apply(NDArray sigma) {
        return sigma.onesLike();
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code UnitWeighting}
     */
    public static UnitWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new UnitWeighting();
    }
}
