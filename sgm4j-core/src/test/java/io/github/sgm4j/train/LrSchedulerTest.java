package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.optim.LrScheduler;
import org.junit.jupiter.api.Test;

/**
 * sgm's LR schedulers, built from their original targets, against values computed by {@code
 * sgm/lr_scheduler.py} (python3, numpy) at steps 0, 1, 5, 9, 10, 11, 50, 99, 100, 120.
 */
class LrSchedulerTest {

    static final long[] STEPS = {0, 1, 5, 9, 10, 11, 50, 99, 100, 120};

    /** Python float arithmetic in the same order: equal to a few ulp. */
    static final double TOL = 1e-12;

    static void check(String yaml, double[] expected) {
        LrScheduler s = new Instantiator().instantiate(ConfigNode.parse(yaml, "sched.yaml"), LrScheduler.class);
        for (int i = 0; i < STEPS.length; i++) {
            assertEquals(expected[i], s.multiplier(STEPS[i]), TOL, "step " + STEPS[i]);
        }
    }

    @Test
    void warmUpCosine() {
        check("""
                target: sgm.lr_scheduler.LambdaWarmUpCosineScheduler
                params: {warm_up_steps: 10, lr_min: 0.1, lr_max: 1.0, lr_start: 0.0, max_decay_steps: 100}
                """, new double[] {0.0, 0.1, 0.5, 0.9, 1.0, 0.9997258721585931, 0.6281416799501187, 0.10027412784140687,
                    0.1, 0.1});
    }

    @Test
    void warmUpCosine2() {
        check("""
                target: sgm.lr_scheduler.LambdaWarmUpCosineScheduler2
                params: {warm_up_steps: [5, 10], f_min: [0.1, 0.2], f_max: [1.0, 0.8], f_start: [0.0, 0.1],
                         cycle_lengths: [50, 100]}
                """, new double[] {0.0, 0.2, 1.0, 0.9825677631722435, 0.9728616793536587, 0.9610954559391703, 0.1,
                    0.5623735072453278, 0.5520944533000792, 0.3500000000000001});
    }

    @Test
    void linear() {
        check("""
                target: sgm.lr_scheduler.LambdaLinearScheduler
                params: {warm_up_steps: [10], f_min: [0.5], f_max: [1.0], f_start: [1.e-6], cycle_lengths: [1000]}
                """, new double[] {1e-06, 0.1000009, 0.5000005000000001, 0.9000001000000001, 0.995, 0.9944999999999999,
                    0.975, 0.9505, 0.95, 0.94});
    }

    @Test
    void pastTheLastCycleIsAnError() {
        LrScheduler s = new Instantiator().instantiate(ConfigNode.parse("""
                target: sgm.lr_scheduler.LambdaLinearScheduler
                params: {warm_up_steps: [1], f_min: [0.5], f_max: [1.0], f_start: [0.0], cycle_lengths: [10]}
                """, "s.yaml"), LrScheduler.class);
        assertThrows(IllegalStateException.class, () -> s.multiplier(11));
    }
}
