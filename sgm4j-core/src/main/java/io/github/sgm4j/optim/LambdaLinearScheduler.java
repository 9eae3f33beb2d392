package io.github.sgm4j.optim;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.lr_scheduler.LambdaLinearScheduler}: per cycle a linear warm-up to {@code
 * f_max}, then a linear ramp from {@code f_max} toward {@code f_min} over the cycle length (SDXL's
 * training schedule).
 */
public final class LambdaLinearScheduler extends LambdaWarmUpCosineScheduler2 {

    /**
     * Creates the scheduler.
     *
     * @param p the per-cycle lists
     */
    public LambdaLinearScheduler(Params p) {
        super(p);
    }

    /**
     * Builds from {@code sgm.lr_scheduler.LambdaLinearScheduler} params (lists per cycle).
     *
     * @param params the scheduler's params node ({@code verbosity_interval} ignored)
     * @param inst the instantiator (unused)
     * @return the scheduler
     * @throws io.github.sgm4j.config.ConfigException if a list is missing or not numeric
     */
    public static LambdaLinearScheduler fromConfig(ConfigNode params, Instantiator inst) {
        return new LambdaLinearScheduler(listParams(params));
    }

    @Override
    public double multiplier(long step) {
        int cycle = findInInterval(step);
        double n = step - cycleStart(cycle);
        if (n < p.warmUpSteps()[cycle]) {
            return (p.fMax()[cycle] - p.fStart()[cycle]) / p.warmUpSteps()[cycle] * n + p.fStart()[cycle];
        }
        return p.fMin()[cycle] + (p.fMax()[cycle] - p.fMin()[cycle]) * (p.cycleLengths()[cycle] - n)
                / p.cycleLengths()[cycle];
    }
}
