package io.github.sgm4j.optim;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;

/**
 * Port of {@code sgm.lr_scheduler.LambdaWarmUpCosineScheduler} (use with a base learning rate of
 * 1): linear warm-up from {@code lr_start} to {@code lr_max}, then cosine decay to {@code lr_min}
 * at {@code max_decay_steps}.
 */
public final class LambdaWarmUpCosineScheduler implements LrScheduler {

    /**
     * The schedule's values.
     *
     * @param warmUpSteps warm-up length
     * @param lrMin final value
     * @param lrMax value after warm-up
     * @param lrStart initial value
     * @param maxDecaySteps step at which the decay ends
     */
    public record Params(double warmUpSteps, double lrMin, double lrMax, double lrStart, double maxDecaySteps) {}

    private final Params p;

    /**
     * Creates the scheduler.
     *
     * @param p the schedule
     * @throws IllegalArgumentException if {@code maxDecaySteps <= warmUpSteps}
     */
    public LambdaWarmUpCosineScheduler(Params p) {
        if (p.maxDecaySteps() <= p.warmUpSteps()) {
            throw new IllegalArgumentException(
                    "max_decay_steps (" + p.maxDecaySteps() + ") must exceed warm_up_steps (" + p.warmUpSteps() + ")");
        }
        this.p = p;
    }

    /**
     * Builds from {@code sgm.lr_scheduler.LambdaWarmUpCosineScheduler} params.
     *
     * @param params the scheduler's params node ({@code verbosity_interval} ignored)
     * @param inst the instantiator (unused)
     * @return the scheduler
     * @throws io.github.sgm4j.config.ConfigException if a value is missing or not numeric
     */
    public static LambdaWarmUpCosineScheduler fromConfig(ConfigNode params, Instantiator inst) {
        params.ignore("verbosity_interval");
        return new LambdaWarmUpCosineScheduler(new Params(params.getDouble("warm_up_steps"), params.getDouble("lr_min"),
                params.getDouble("lr_max"), params.getDouble("lr_start"), params.getDouble("max_decay_steps")));
    }

    @Override
    public double multiplier(long n) {
        if (n < p.warmUpSteps()) {
            return (p.lrMax() - p.lrStart()) / p.warmUpSteps() * n + p.lrStart();
        }
        double t = (n - p.warmUpSteps()) / (p.maxDecaySteps() - p.warmUpSteps());
        t = Math.min(t, 1.0);
        return p.lrMin() + 0.5 * (p.lrMax() - p.lrMin()) * (1 + Math.cos(t * Math.PI));
    }
}
