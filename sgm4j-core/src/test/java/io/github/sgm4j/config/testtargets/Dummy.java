package io.github.sgm4j.config.testtargets;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import java.util.List;

/** A test target with typed params and an optional nested target. */
public final class Dummy {

    /** channel_mult. */
    public final List<Integer> channelMult;

    /** a nested object or null. */
    public final Object child;

    /** scale. */
    public final double scale;

    /** Creates a dummy. */
    public Dummy(List<Integer> channelMult, Object child, double scale) {
        this.channelMult = channelMult;
        this.child = child;
        this.scale = scale;
    }

    /** Factory. */
    public static Dummy fromConfig(ConfigNode params, Instantiator inst) {
        params.ignore("monitor");
        ConfigNode childNode = params.getNodeOrNull("child_config");
        Object child = childNode == null ? null : inst.instantiate(childNode);
        return new Dummy(params.getIntList("channel_mult", List.of(1)), child, params.getDouble("scale", 1.0));
    }
}
