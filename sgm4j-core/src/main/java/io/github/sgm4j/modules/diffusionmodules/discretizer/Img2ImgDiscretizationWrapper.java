package io.github.sgm4j.modules.diffusionmodules.discretizer;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.inference.helpers.Img2ImgDiscretizationWrapper}: wraps a discretization and
 * keeps only the low-noise end of its schedule, so that an img2img run starts from a partly noised
 * image. The wrapped call's sigmas (descending, with the trailing zero when asked) are reversed, the
 * first {@code max(int(strength * len), 1)} are kept and the result is reversed back; strength 1
 * keeps every sigma.
 *
 * <p>As in the reference, the pruning applies to whatever the wrapped call returns (with or without
 * the appended zero and flip): a run of {@code n} sampler steps then has {@code max(int(strength *
 * (n + 1)), 1) - 1} steps.
 */
public class Img2ImgDiscretizationWrapper extends Discretization {

    private final Discretization discretization;
    private final double strength;

    /**
     * Wraps {@code discretization}.
     *
     * @param discretization the schedule to prune
     * @param strength in [0, 1]; 1 keeps the full schedule
     * @throws IllegalArgumentException when {@code discretization} is null or {@code strength} is
     *     outside [0, 1]
     */
    public Img2ImgDiscretizationWrapper(Discretization discretization, double strength) {
        if (discretization == null) {
            throw new IllegalArgumentException("Img2ImgDiscretizationWrapper: discretization is required");
        }
        if (!(strength >= 0.0 && strength <= 1.0)) {
            throw new IllegalArgumentException("Img2ImgDiscretizationWrapper: strength must be in [0, 1], got " + strength);
        }
        this.discretization = discretization;
        this.strength = strength;
    }

    /**
     * The wrapped schedule.
     *
     * @return the discretization whose sigmas are pruned
     */
    public Discretization getDiscretization() {
        return discretization;
    }

    /**
     * The img2img strength.
     *
     * @return the strength in [0, 1]
     */
    public double getStrength() {
        return strength;
    }

    @Override
    public float[] getSigmas(int n) {
        return prune(discretization.getSigmas(n));
    }

    @Override
    public float[] sigmas(int n, boolean doAppendZero, boolean flip) {
        return prune(discretization.sigmas(n, doAppendZero, flip));
    }

    /** flip, keep the first max(int(strength * len), 1), flip back: the last entries of s. */
    private float[] prune(float[] s) {
        int keep = Math.max((int) (strength * s.length), 1);
        return java.util.Arrays.copyOfRange(s, s.length - keep, s.length);
    }

    /**
     * Builds from {@code sgm.inference.helpers.Img2ImgDiscretizationWrapper} params (an sgm4j config
     * form: the reference builds the wrapper in code): {@code discretization_config} (required) and
     * {@code strength} (default 1.0).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for {@code discretization_config}
     * @return the new wrapper
     * @throws ConfigException naming the key at fault
     */
    public static Img2ImgDiscretizationWrapper fromConfig(ConfigNode p, Instantiator inst) {
        Discretization d = inst.instantiate(p.getNode("discretization_config"), Discretization.class);
        double strength = p.getDouble("strength", 1.0);
        try {
            return new Img2ImgDiscretizationWrapper(d, strength);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.pathOf("strength"), e.getMessage());
        }
    }
}
