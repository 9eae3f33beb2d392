package io.github.sgm4j.modules.diffusionmodules.lossweighting;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/** Port of {@code sgm.modules.diffusionmodules.loss_weighting.VWeighting}: {@link EDMWeighting} with sigma_data 1. */
public class VWeighting extends EDMWeighting {

    /** Builds the weighting (no parameters). */
    public VWeighting() {
        super(new Params(1.0));
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code VWeighting}
     */
    public static VWeighting fromConfig(ConfigNode p, Instantiator inst) {
        return new VWeighting();
    }
}
