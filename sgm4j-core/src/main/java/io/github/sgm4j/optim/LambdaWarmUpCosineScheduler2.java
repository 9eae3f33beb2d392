package io.github.sgm4j.optim;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.lr_scheduler.LambdaWarmUpCosineScheduler2}: repeated cycles, each a linear
 * warm-up then a cosine decay, configured by lists (use with a base learning rate of 1).
 */
public class LambdaWarmUpCosineScheduler2 implements LrScheduler {

    /**
     * Per-cycle lists, all of the same length.
     *
     * @param warmUpSteps warm-up length per cycle
     * @param fMin final value per cycle
     * @param fMax value after warm-up per cycle
     * @param fStart initial value per cycle
     * @param cycleLengths length of each cycle
     */
    public record Params(double[] warmUpSteps, double[] fMin, double[] fMax, double[] fStart, double[] cycleLengths) {
        /**
         * Checks the lists have equal lengths.
         *
         * @param warmUpSteps warm-up length per cycle
         * @param fMin final value per cycle
         * @param fMax value after warm-up per cycle
         * @param fStart initial value per cycle
         * @param cycleLengths length of each cycle
         * @throws IllegalArgumentException if the lists are empty or of different lengths
         */
        public Params {
            int n = warmUpSteps.length;
            if (n == 0 || fMin.length != n || fMax.length != n || fStart.length != n || cycleLengths.length != n) {
                throw new IllegalArgumentException(
                        "warm_up_steps, f_min, f_max, f_start and cycle_lengths must be non-empty lists of equal length");
            }
        }
    }

    /** The per-cycle lists. */
    protected final Params p;

    /**
     * Reads the per-cycle lists of the scheduler params.
     *
     * @param params the scheduler's params node ({@code warm_up_steps}, {@code f_min}, {@code f_max}, {@code
     *     f_start}, {@code cycle_lengths}; {@code verbosity_interval} ignored)
     * @return the lists
     * @throws io.github.sgm4j.config.ConfigException if a list is missing or not numeric
     */
    protected static Params listParams(ConfigNode params) {
        params.ignore("verbosity_interval");
        return new Params(array(params, "warm_up_steps"), array(params, "f_min"), array(params, "f_max"),
                array(params, "f_start"), array(params, "cycle_lengths"));
    }

    private static double[] array(ConfigNode params, String key) {
        return params.getDoubleList(key).stream().mapToDouble(Double::doubleValue).toArray();
    }
    private final double[] cumCycles;

    /**
     * Creates the scheduler.
     *
     * @param p the per-cycle lists
     */
    public LambdaWarmUpCosineScheduler2(Params p) {
        this.p = p;
        cumCycles = new double[p.cycleLengths().length + 1];
        for (int i = 0; i < p.cycleLengths().length; i++) {
            cumCycles[i + 1] = cumCycles[i] + p.cycleLengths()[i];
        }
    }

    /**
     * {@code find_in_interval(n)}: the cycle containing step n.
     *
     * @param n the step, from 0
     * @return the 0-based cycle index
     * @throws IllegalStateException past the last cycle (where the reference fails with a TypeError)
     */
    protected int findInInterval(long n) {
        for (int i = 1; i < cumCycles.length; i++) {
            if (n <= cumCycles[i]) {
                return i - 1;
            }
        }
        throw new IllegalStateException("step " + n + " is past the end of the schedule (cycle_lengths sum to "
                + (long) cumCycles[cumCycles.length - 1] + ")");
    }

    /**
     * Start step of cycle {@code c}.
     *
     * @param c the 0-based cycle index
     * @return the sum of the lengths of the cycles before {@code c}
     */
    protected double cycleStart(int c) {
        return cumCycles[c];
    }

    /**
     * Builds from {@code sgm.lr_scheduler.LambdaWarmUpCosineScheduler2} params (lists per cycle).
     *
     * @param params the scheduler's params node
     * @param inst the instantiator (unused)
     * @return the scheduler
     * @throws io.github.sgm4j.config.ConfigException if a list is missing or not numeric
     */
    public static LambdaWarmUpCosineScheduler2 fromConfig(ConfigNode params, Instantiator inst) {
        return new LambdaWarmUpCosineScheduler2(listParams(params));
    }

    @Override
    public double multiplier(long step) {
        int cycle = findInInterval(step);
        double n = step - cumCycles[cycle];
        if (n < p.warmUpSteps()[cycle]) {
            return (p.fMax()[cycle] - p.fStart()[cycle]) / p.warmUpSteps()[cycle] * n + p.fStart()[cycle];
        }
        double t = (n - p.warmUpSteps()[cycle]) / (p.cycleLengths()[cycle] - p.warmUpSteps()[cycle]);
        t = Math.min(t, 1.0);
        return p.fMin()[cycle] + 0.5 * (p.fMax()[cycle] - p.fMin()[cycle]) * (1 + Math.cos(t * Math.PI));
    }
}
