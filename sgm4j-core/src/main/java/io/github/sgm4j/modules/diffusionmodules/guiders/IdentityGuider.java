package io.github.sgm4j.modules.diffusionmodules.guiders;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.guiders.IdentityGuider}: no guidance; the
 * conditional inputs pass through unchanged.
 */
public class IdentityGuider implements Guider {

    /** Builds the guider (no parameters). */
    public IdentityGuider() {}

    @Override
    public Inputs prepareInputs(NDArray x, NDArray sigma, Map<String, NDArray> c, Map<String, NDArray> uc) {
        return new Inputs(io.github.sgm4j.nn.F.alias(x), io.github.sgm4j.nn.F.alias(sigma), new LinkedHashMap<>(c));
    }

    @Override
    public NDArray apply(NDArray x, NDArray sigma) {
        return io.github.sgm4j.nn.F.alias(x);
    }

    /**
     * Builds from the sgm target (no parameters).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code IdentityGuider}
     */
    public static IdentityGuider fromConfig(ConfigNode p, Instantiator inst) {
        return new IdentityGuider();
    }
}
