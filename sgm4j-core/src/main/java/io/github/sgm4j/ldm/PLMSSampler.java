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
 *
 * <p>Everything else (options, ownership of the result, thread-safety) is as for {@link
 * DDIMSampler}.
 */
public class PLMSSampler extends DDIMSampler {

    /**
     * {@code PLMSSampler(model, schedule="linear")}.
     *
     * @param model the diffusion model to sample from; the sampler does not take ownership
     * @param schedule the reference's {@code schedule} argument, kept for information only
     */
    public PLMSSampler(SamplingModel model, String schedule) {
        super(model, schedule);
    }

    /**
     * {@code PLMSSampler(model)}, with {@code schedule="linear"}.
     *
     * @param model the diffusion model to sample from; the sampler does not take ownership
     */
    public PLMSSampler(SamplingModel model) {
        this(model, "linear");
    }

    /**
     * Builds from {@code ldm.models.diffusion.plms.PLMSSampler} params ({@code schedule}); the model
     * comes from the instantiator context key {@code "model"}.
     *
     * @param p the {@code params} node of the config (may be empty)
     * @param inst the instantiator whose context holds the model
     * @return a new sampler over the context model
     * @throws io.github.sgm4j.config.ConfigException if the context has no {@code model} or {@code
     *     schedule} is not a string
     * @throws IllegalStateException if the context {@code model} is not a {@link SamplingModel}
     */
    public static PLMSSampler fromConfig(ConfigNode p, Instantiator inst) {
        SamplingModel m = inst.requireContext("model", SamplingModel.class, p.path());
        return new PLMSSampler(m, p.getString("schedule", "linear"));
    }

    /**
     * PLMS is deterministic: the reference raises {@code ValueError('ddim_eta must be 0 for PLMS')}
     * for any other value.
     *
     * @param eta the requested {@code ddim_eta}
     * @throws IllegalArgumentException unless eta is 0
     */
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

    /**
     * A fresh per-run state holding {@code old_eps}, the raw {@code e_t} of the previous steps (at
     * most 3; closed when dropped or when the loop ends).
     *
     * @return a new, empty state
     */
    @Override
    protected StepState newState() {
        return new OldEps();
    }

    /**
     * One {@code p_sample_plms} step. With {@code n} stored {@code old_eps}: {@code n = 0}, pseudo
     * improved Euler, {@code e' = (e_t + e_next) / 2} where {@code e_next} is the model output at
     * {@code tNext} on the DDIM step made with {@code e_t}; {@code n = 1}, {@code (3 e_t - e_1) / 2};
     * {@code n = 2}, {@code (23 e_t - 16 e_1 + 5 e_2) / 12}; {@code n = 3}, {@code (55 e_t - 59 e_1
     * + 37 e_2 - 9 e_3) / 24} ({@code e_1} the most recent). Then {@code x_prev, pred_x0} come from
     * {@link #xPrevAndPredX0} with {@code e'}; the raw {@code e_t} is kept in {@code state} for later
     * steps.
     *
     * @param x the current sample {@code x_t} [B, C, H, W] (after the inpainting blend)
     * @param c the conditioning (batch-first), or null
     * @param t [B] int64, the current DDPM timestep
     * @param tNext [B] int64, the next (lower) DDIM timestep, used by the first step's second model
     *     call
     * @param index the index of {@code t} in the schedule (counts down to 0)
     * @param options the sampling options (guidance)
     * @param state the state from {@link #newState()} (its {@code old_eps})
     * @param noise source of the {@code randn} draws (two in the first step, one afterwards)
     * @return {@code {x_prev, pred_x0}}, two new [B, C, H, W] arrays in the manager of {@code x}
     */
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
