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

    /** Builds from the sgm target (no parameters). */
    public static UnitWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new UnitWeighting();
    }
}
