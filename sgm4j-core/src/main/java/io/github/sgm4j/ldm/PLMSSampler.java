package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of {@code ldm.models.diffusion.plms.PLMSSampler} (pseudo linear multistep, Liu et al. 2022)
 * on the DDIM timesteps: the first step is a pseudo improved Euler step (a second model call at the
 * next timestep, so two {@code randn} draws), then Adams-Bashforth of orders 2-4 over the stored raw
 * {@code e_t} (at most 3 kept). {@code eta} must be 0.
 */
public class PLMSSampler extends DDIMSampler {

    /** {@code PLMSSampler(model, schedule="linear")}. */
    public PLMSSampler(SamplingModel model, String schedule) {
        super(model, schedule);
    }

    /** {@code PLMSSampler(model)}. */
    public PLMSSampler(SamplingModel model) {
        this(model, "linear");
    }

    /**
     * Builds from {@code ldm.models.diffusion.plms.PLMSSampler} params ({@code schedule}); the model
     * comes from the instantiator context key {@code "model"}.
     */
    public static PLMSSampler fromConfig(ConfigNode p, Instantiator inst) {
        SamplingModel m = inst.requireContext("model", SamplingModel.class, p.path());
        return new PLMSSampler(m, p.getString("schedule", "linear"));
    }

    /** @throws IllegalArgumentException unless eta is 0 ({@code ddim_eta must be 0 for PLMS}) */
    @Override
    protected void checkEta(double eta) {
        if (eta != 0) {
            throw new IllegalArgumentException("ddim_eta must be 0 for PLMS, got " + eta);
        }
    }

    private static final class OldEps implements StepState {
        final List<NDArray> oldEps = new ArrayList<>();
        NDArray fresh;

        @Override
        public void keep() {
            NDScope.unregister(fresh);
            oldEps.add(fresh);
            if (oldEps.size() >= 4) {
                oldEps.remove(0).close();
            }
        }

        @Override
        public void close() {
            oldEps.forEach(NDArray::close);
            oldEps.clear();
        }
    }

    @Override
    protected StepState newState() {
        return new OldEps();
    }

    /** One {@code p_sample_plms} step: returns {x_prev, pred_x0}; the raw e_t is kept for later steps. */
    @Override
    protected NDArray[] step(NDArray x, NDArray c, NDArray t, NDArray tNext, int index, SampleOptions options,
            StepState state, NoiseSource noise) {
        List<NDArray> oldEps = ((OldEps) state).oldEps;
        NDArray et = modelOutput(x, c, t, options);
        NDArray etPrime;
        int n = oldEps.size();
        if (n == 0) {
            // Pseudo Improved Euler (2nd order)
            NDArray[] first = xPrevAndPredX0(x, et, index, noise);
            NDArray etNext = modelOutput(first[0], c, tNext, options);
            etPrime = F.div(et.add(etNext), 2);
        } else if (n == 1) {
            // 2nd order Pseudo Linear Multistep (Adams-Bashforth)
            etPrime = F.div(F.mul(et, 3).sub(oldEps.get(n - 1)), 2);
        } else if (n == 2) {
            // 3rd order Pseudo Linear Multistep (Adams-Bashforth)
            etPrime = F.div(F.mul(et, 23).sub(F.mul(oldEps.get(n - 1), 16)).add(F.mul(oldEps.get(n - 2), 5)), 12);
        } else {
            // 4th order Pseudo Linear Multistep (Adams-Bashforth)
            etPrime = F.div(F.mul(et, 55).sub(F.mul(oldEps.get(n - 1), 59)).add(F.mul(oldEps.get(n - 2), 37))
                    .sub(F.mul(oldEps.get(n - 3), 9)), 24);
        }
        ((OldEps) state).fresh = et;
        return xPrevAndPredX0(x, etPrime, index, noise);
    }
}
