package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/** Port of {@code sgm.modules.diffusionmodules.loss_weighting.VWeighting}: {@link EDMWeighting} with sigma_data 1. */
public class VWeighting extends EDMWeighting {

    /** Builds the weighting (no parameters). */
    public VWeighting() {
        super(new Params(1.0));
    }

    /** Builds from the sgm target (no parameters). */
    public static VWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new VWeighting();
    }
}
