package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of {@code ldm.models.diffusion.ddim.DDIMSampler} (Song et al. 2020, DDIM): a subsequence of
 * the DDPM timesteps ({@code make_ddim_timesteps}), {@code eta}-controlled stochasticity,
 * classifier-free guidance (unconditional batch first), {@code x_T}, mask/x0 inpainting and
 * intermediates. The reference moves its buffers to CUDA; sgm4j works on the model's device.
 *
 * <p>Per-step coefficients are float32 like the reference's {@code torch.full((b,1,1,1), v)} of its
 * float32 / float64 schedule entries; every step draws {@code randn(x.shape)} (also with eta 0).
 *
 * <p>Not ported: {@code use_original_steps}, {@code temperature}, {@code noise_dropout}, {@code
 * score_corrector}, {@code quantize_x0} and the {@code verbose} progress bar. An instance keeps the
 * schedule of its last {@link #makeSchedule} call, so it must not sample from several threads at
 * once. All arrays are created in the model's manager ({@link SamplingModel#getManager()}) or the
 * manager of {@code x_T}; every step's temporaries live in an {@link NDScope} that closes them.
 */
public class DDIMSampler implements LdmSampler {

    /**
     * The schedule {@code make_schedule} selected (plain Java arrays, no tensors). All arrays have
     * one entry per selected DDIM step, in ascending timestep order; sampling walks them backwards.
     * The record exposes its arrays directly: callers must not modify them.
     *
     * @param ddimTimesteps {@code ddim_timesteps}: the selected DDPM timesteps, ascending, from
     *     {@link LdmUtil#makeDdimTimesteps} (with the reference's {@code + 1} offset)
     * @param ddimSigmas {@code ddim_sigmas}, float64: {@code eta * sqrt((1 - a_prev) / (1 - a_t) *
     *     (1 - a_t / a_prev))}, all 0 for {@code eta} 0
     * @param ddimAlphas {@code ddim_alphas}, float32: {@code alphas_cumprod[ddim_timesteps]}
     * @param ddimAlphasPrev {@code ddim_alphas_prev}, float64: {@code alphas_cumprod[0]} then
     *     {@code alphas_cumprod[ddim_timesteps[:-1]]}
     * @param ddimSqrtOneMinusAlphas {@code ddim_sqrt_one_minus_alphas}, float32: {@code sqrt(1 -
     *     ddim_alphas)}
     */
    public record Schedule(long[] ddimTimesteps, double[] ddimSigmas, float[] ddimAlphas, double[] ddimAlphasPrev,
            float[] ddimSqrtOneMinusAlphas) {}

    /** The sampled model ({@code self.model}); borrowed, never closed by the sampler. */
    protected final SamplingModel model;
    private final String schedule;
    /** The schedule of the last {@link #makeSchedule} call, or null before the first one. */
    protected Schedule current;

    /**
     * {@code DDIMSampler(model, schedule="linear")}.
     *
     * @param model the diffusion model to sample from; the sampler does not take ownership
     * @param schedule the reference's {@code schedule} argument, kept for information only (the
     *     betas come from the model)
     */
    public DDIMSampler(SamplingModel model, String schedule) {
        this.model = model;
        this.schedule = schedule;
    }

    /**
     * {@code DDIMSampler(model)}, with {@code schedule="linear"}.
     *
     * @param model the diffusion model to sample from; the sampler does not take ownership
     */
    public DDIMSampler(SamplingModel model) {
        this(model, "linear");
    }

    /**
     * Builds from {@code ldm.models.diffusion.ddim.DDIMSampler} params ({@code schedule}); the model
     * comes from the instantiator context key {@code "model"} (a {@link SamplingModel}).
     *
     * @param p the {@code params} node of the config (may be empty)
     * @param inst the instantiator whose context holds the model
     * @return a new sampler over the context model
     * @throws io.github.sgm4j.config.ConfigException if the context has no {@code model} or {@code
     *     schedule} is not a string
     * @throws IllegalStateException if the context {@code model} is not a {@link SamplingModel}
     */
    public static DDIMSampler fromConfig(ConfigNode p, Instantiator inst) {
        SamplingModel m = inst.requireContext("model", SamplingModel.class, p.path());
        return new DDIMSampler(m, p.getString("schedule", "linear"));
    }

    /**
     * The sampled model.
     *
     * @return the model given at construction (borrowed)
     */
    public SamplingModel getModel() {
        return model;
    }

    /**
     * The {@code schedule} argument (informational, as in the reference).
     *
     * @return the schedule name given at construction, {@code linear} by default
     */
    public String getScheduleName() {
        return schedule;
    }

    /**
     * The schedule of the last {@link #makeSchedule} call (also made by {@link #sample}).
     *
     * @return the current schedule, or null before the first call
     */
    public Schedule getSchedule() {
        return current;
    }

    /**
     * {@code make_schedule(ddim_num_steps, ddim_discretize, ddim_eta)}: selects the DDIM timesteps
     * ({@link LdmUtil#makeDdimTimesteps}), gathers the model's float32 {@code alphas_cumprod} at
     * them and computes the sigmas ({@link LdmUtil#makeDdimSamplingParameters}). The result becomes
     * the {@linkplain #getSchedule() current schedule}.
     *
     * @param ddimNumSteps {@code S}, the requested number of steps (the {@code uniform} method may
     *     select a few more when {@code T} is not a multiple of {@code S})
     * @param ddimDiscretize {@code uniform} or {@code quad}
     * @param ddimEta {@code eta}, the scale of the sigmas
     * @return the new schedule (also stored as the current one)
     * @throws IllegalArgumentException when {@code ddim_num_steps} is less than 1 or exceeds the
     *     model's timesteps, selects a timestep past the last one, or the method is unknown
     * @throws IllegalStateException if the model's {@code alphas_cumprod} does not have {@code
     *     num_timesteps} entries
     */
    public Schedule makeSchedule(int ddimNumSteps, String ddimDiscretize, double ddimEta) {
        long[] ts = LdmUtil.makeDdimTimesteps(ddimDiscretize, ddimNumSteps, model.numTimesteps());
        float[] alphacums = model.alphasCumprod().toFloatArray();
        if (alphacums.length != model.numTimesteps()) {
            throw new IllegalStateException("alphas have to be defined for each timestep");
        }
        for (long t : ts) {
            if (t >= alphacums.length) {
                throw new IllegalArgumentException("ddim_num_steps " + ddimNumSteps + " with " + ddimDiscretize
                        + " discretization selects timestep " + t + " outside the model's " + alphacums.length
                        + " timesteps");
            }
        }
        LdmUtil.DdimParameters p = LdmUtil.makeDdimSamplingParameters(alphacums, ts, ddimEta);
        float[] sq = new float[p.alphas().length];
        for (int i = 0; i < sq.length; i++) {
            // np.sqrt(1. - ddim_alphas) on a float32 tensor: float32 arithmetic, correctly rounded sqrt
            sq[i] = (float) Math.sqrt(1f - p.alphas()[i]);
        }
        current = new Schedule(ts, p.sigmas(), p.alphas(), p.alphasPrev(), sq);
        return current;
    }

    /**
     * {@code sample(S, batch_size, shape, conditioning, ...)}: {@link #makeSchedule} with the
     * options' {@code ddim_discretize} and {@code eta}, then the {@code ddim_sampling} loop on a
     * [batch_size, C, H, W] latent.
     *
     * @param steps {@code S}, the number of DDIM steps
     * @param batchSize the batch size {@code B}
     * @param shape the per-sample latent shape (C, H, W)
     * @param conditioning the conditioning (batch-first, {@code B} rows), or null for an
     *     unconditional model
     * @param options eta, guidance, x_T, inpainting, logging, callback; not modified
     * @param noise source of every draw ({@code x_T} unless given, then one {@code randn} per step
     *     and one per inpainting blend)
     * @return the final latents [B, C, H, W] and the logged intermediates; every array belongs to the
     *     caller (see {@link SampleResult} for the sharing between them)
     * @throws IllegalArgumentException if {@code shape} is not 3-D, {@code S} is out of range, the
     *     eta or discretization is invalid for this sampler, or the {@code x_T} / mask / {@code x0}
     *     / unconditional-conditioning shapes do not match
     */
    @Override
    public SampleResult sample(int steps, int batchSize, Shape shape, NDArray conditioning, SampleOptions options,
            NoiseSource noise) {
        if (shape.dimension() != 3) {
            throw new IllegalArgumentException("shape must be (C, H, W), got " + shape);
        }
        checkEta(options.eta());
        makeSchedule(steps, options.ddimDiscretize(), options.eta());
        Shape size = new Shape(batchSize, shape.get(0), shape.get(1), shape.get(2));
        return run(conditioning, size, options, noise);
    }

    /**
     * Validates {@code eta} for this sampler before the schedule is made: DDIM accepts any {@code
     * eta} (the options already refuse negative values); PLMS refuses a non-zero one.
     *
     * @param eta the requested {@code ddim_eta}
     */
    protected void checkEta(double eta) {}

    /**
     * {@code ddim_sampling(cond, shape, ...)} over the {@linkplain #getSchedule() current
     * schedule}: from {@code x_T} through the DDIM timesteps in descending order, blending in the
     * inpainting {@code x0} before every step, calling {@link #step} and the callback, and keeping
     * an intermediate when the schedule index is a multiple of {@code log_every_t} or at the first
     * step. Samples that are not kept are closed once the next step has used them.
     *
     * @param cond the conditioning (batch-first), or null
     * @param size the full latent shape [B, C, H, W]
     * @param options the sampling options
     * @param noise source of every draw
     * @return the final latents and the intermediates, owned by the caller (see {@link
     *     SampleResult})
     * @throws IllegalArgumentException if {@code x_T}, the mask / {@code x0} or the unconditional
     *     conditioning does not match {@code size} / the conditioning
     * @throws NullPointerException if no schedule was made yet
     */
    protected SampleResult run(NDArray cond, Shape size, SampleOptions options, NoiseSource noise) {
        NDManager manager = model.getManager();
        NDArray img = options.xT() != null ? options.xT() : noise.randn(manager, size);
        if (!img.getShape().equals(size)) {
            throw new IllegalArgumentException("x_T shape " + img.getShape() + " differs from the sample shape " + size);
        }
        LdmUtil.checkMask(options.mask(), options.x0(), size);
        NDArray uc = options.unconditionalConditioning();
        if (uc != null && cond != null && !uc.getShape().equals(cond.getShape())) {
            throw new IllegalArgumentException("unconditional_conditioning shape " + uc.getShape()
                    + " differs from the conditioning shape " + cond.getShape());
        }
        int logEveryT = options.logEveryTOr(100);
        long[] ts = current.ddimTimesteps();
        int total = ts.length;
        List<NDArray> xInter = new ArrayList<>();
        List<NDArray> predX0s = new ArrayList<>();
        xInter.add(img);
        predX0s.add(img);
        NDArray xT = img;
        boolean kept = true;
        StepState state = newState();
        try {
            for (int i = 0; i < total; i++) {
                int index = total - i - 1;
                long step = ts[index];
                long nextStep = ts[Math.max(total - (i + 1) - 1, 0)];
                NDArray xPrev;
                NDArray predX0;
                try (NDScope scope = new NDScope()) {
                    NDArray t = LdmUtil.fullLong(img.getManager(), size.get(0), step);
                    NDArray x = img;
                    if (options.mask() != null) {
                        x = LdmUtil.blend(model, options.x0(), t, options.mask(), img, noise);
                    }
                    NDArray tNext = LdmUtil.fullLong(img.getManager(), size.get(0), nextStep);
                    NDArray[] out = step(x, cond, t, tNext, index, options, state, noise);
                    xPrev = out[0];
                    predX0 = out[1];
                    NDScope.unregister(xPrev, predX0);
                    state.keep();
                }
                if (img != xT && !kept) {
                    img.close();
                }
                img = xPrev;
                if (options.callback() != null) {
                    options.callback().onStep(i, total, img, predX0);
                }
                kept = index % logEveryT == 0 || index == total - 1;
                if (kept) {
                    xInter.add(img);
                    predX0s.add(predX0);
                } else {
                    predX0.close();
                }
            }
        } finally {
            state.close();
        }
        return new SampleResult(img, xInter, predX0s);
    }

    /**
     * {@code stochastic_encode(x0, t)} with the DDIM schedule ({@code use_original_steps=False}):
     * {@code sqrt(ddim_alphas[t]) * x0 + ddim_sqrt_one_minus_alphas[t] * randn_like(x0)}, the start
     * of ldm's {@code img2img.py}. Needs a schedule ({@link #makeSchedule}).
     *
     * @param x0 the clean latents [B, C, H, W]; not closed
     * @param tEnc the schedule index ({@code int(strength * ddim_steps)}), in [0, steps)
     * @param noise source of the {@code randn_like} draw
     * @return the noised latents, a new array in the manager of {@code x0}
     * @throws IllegalArgumentException when {@code tEnc} is outside the schedule (the reference fails
     *     with an index error for strength 1)
     * @throws IllegalStateException when no schedule was made
     */
    public NDArray stochasticEncode(NDArray x0, int tEnc, NoiseSource noise) {
        if (current == null) {
            throw new IllegalStateException("stochastic_encode: make_schedule was not called");
        }
        int steps = current.ddimAlphas().length;
        if (tEnc < 0 || tEnc >= steps) {
            throw new IllegalArgumentException("stochastic_encode: t_enc " + tEnc + " outside the DDIM schedule of " + steps
                    + " steps (t_enc = int(strength * steps) must be below steps: use a strength below 1)");
        }
        float sqrtA = (float) Math.sqrt(current.ddimAlphas()[tEnc]);
        float sqrtOneMinus = current.ddimSqrtOneMinusAlphas()[tEnc];
        try (NDArray n = noise.randnLike(x0); NDArray a = F.mul(x0, sqrtA); NDArray b = F.mul(n, sqrtOneMinus)) {
            return a.add(b);
        }
    }

    /**
     * {@code decode(x_latent, cond, t_start, unconditional_guidance_scale, unconditional_conditioning)}:
     * the DDIM steps {@code ddim_timesteps[:t_start]} in descending order from {@code x_latent}, the
     * end of ldm's {@code img2img.py}. Needs a schedule ({@link #makeSchedule}).
     *
     * @param xLatent the noised latents from {@link #stochasticEncode}; not closed
     * @param cond the conditioning (batch-first)
     * @param tStart the number of steps to run ({@code t_enc})
     * @param options guidance scale and unconditional conditioning (and the step callback)
     * @param noise source of each step's draw
     * @return the decoded latents, a new array in the manager of {@code xLatent}
     * @throws IllegalStateException when no schedule was made
     */
    public NDArray decode(NDArray xLatent, NDArray cond, int tStart, SampleOptions options, NoiseSource noise) {
        if (current == null) {
            throw new IllegalStateException("decode: make_schedule was not called");
        }
        long[] ts = current.ddimTimesteps();
        NDArray x = xLatent.duplicate();
        StepState state = newState();
        try {
            for (int i = 0; i < tStart; i++) {
                int index = tStart - i - 1;
                NDArray next;
                try (NDScope scope = new NDScope()) {
                    NDArray t = LdmUtil.fullLong(x.getManager(), x.getShape().get(0), ts[index]);
                    NDArray[] out = step(x, cond, t, t, index, options, state, noise);
                    next = out[0];
                    NDScope.unregister(next);
                    state.keep();
                }
                x.close();
                x = next;
                if (options.callback() != null) {
                    options.callback().onStep(i, tStart, x, x);
                }
            }
        } finally {
            state.close();
        }
        return x;
    }

    /** Per-run state of a sampler (PLMS keeps its old eps here). */
    protected interface StepState extends AutoCloseable {
        /**
         * Called inside a step's {@link NDScope} after {@link DDIMSampler#step} returned:
         * unregisters the arrays that must survive the scope and stores them for later steps.
         */
        void keep();

        /** Closes every array the state still holds; called once when the loop ends or fails. */
        @Override
        void close();
    }

    /**
     * A fresh per-run state; DDIM keeps nothing between steps.
     *
     * @return a state whose {@code keep} and {@code close} do nothing
     */
    protected StepState newState() {
        return new StepState() {
            @Override
            public void keep() {}

            @Override
            public void close() {}
        };
    }

    /**
     * One {@code p_sample_ddim} step: the guided model output ({@link #modelOutput}) turned into
     * {@code x_prev} and {@code pred_x0} ({@link #xPrevAndPredX0}). Called inside an {@link NDScope}
     * that closes every array the step creates except the two it returns and those {@link
     * StepState#keep()} unregisters.
     *
     * @param x the current sample {@code x_t} [B, C, H, W] (after the inpainting blend)
     * @param c the conditioning (batch-first), or null
     * @param t [B] int64, the current DDPM timestep
     * @param tNext [B] int64, the next (lower) DDIM timestep, the current one at the last step
     *     (unused by DDIM, read by PLMS)
     * @param index the index of {@code t} in the schedule (counts down to 0)
     * @param options the sampling options (guidance)
     * @param state the per-run state from {@link #newState}
     * @param noise source of the step's {@code randn}
     * @return {@code {x_prev, pred_x0}}, two new [B, C, H, W] arrays in the manager of {@code x}
     */
    protected NDArray[] step(NDArray x, NDArray c, NDArray t, NDArray tNext, int index, SampleOptions options,
            StepState state, NoiseSource noise) {
        NDArray et = modelOutput(x, c, t, options);
        return xPrevAndPredX0(x, et, index, noise);
    }

    /**
     * The model's eps with classifier-free guidance: one call on {@code (x, t, c)} when there is no
     * unconditional conditioning or the scale is 1, otherwise one call on {@code cat([x]*2)},
     * {@code cat([t]*2)}, {@code cat([uc, c])} and {@code e_u + scale * (e_c - e_u)}.
     *
     * <p>With guidance the concatenations and halves are not closed here: call it inside an {@link
     * NDScope} (as {@link #step} is) or close the manager afterwards.
     *
     * @param x the current sample [B, C, H, W]
     * @param c the conditioning (batch-first), or null; must not be null when guidance is active
     * @param t [B] int64 timesteps
     * @param options the source of the guidance scale and unconditional conditioning
     * @return the (guided) eps [B, C, H, W], a new array
     */
    protected NDArray modelOutput(NDArray x, NDArray c, NDArray t, SampleOptions options) {
        NDArray uc = options.unconditionalConditioning();
        double scale = options.unconditionalGuidanceScale();
        if (uc == null || scale == 1.0) {
            return model.applyModel(x, t, c);
        }
        NDArray xIn = NDArrays.concat(new NDList(x, x), 0);
        NDArray tIn = NDArrays.concat(new NDList(t, t), 0);
        NDArray cIn = NDArrays.concat(new NDList(uc, c), 0);
        NDArray out = model.applyModel(xIn, tIn, cIn);
        NDList halves = out.split(2, 0);
        NDArray eUncond = halves.get(0);
        NDArray eCond = halves.get(1);
        // e_t = e_t_uncond + scale * (e_t - e_t_uncond)
        return eUncond.add(F.mul(eCond.sub(eUncond), (float) scale));
    }

    /**
     * {@code get_x_prev_and_pred_x0(e_t, index)}: {@code pred_x0 = (x - sqrt(1 - a_t) e_t) /
     * sqrt(a_t)}, {@code dir_xt = sqrt(1 - a_prev - sigma_t^2) e_t}, {@code x_prev = sqrt(a_prev)
     * pred_x0 + dir_xt + sigma_t randn(x.shape)}; all coefficients float32.
     *
     * <p>The intermediate arrays are not closed here: call it inside an {@link NDScope} (as {@link
     * #step} is) or close the manager afterwards.
     *
     * @param x the current sample {@code x_t} [B, C, H, W]
     * @param et the eps to step with [B, C, H, W]
     * @param index the schedule index selecting {@code a_t}, {@code a_prev} and {@code sigma_t}
     * @param noise source of the {@code randn(x.shape)} draw (made also when {@code sigma_t} is 0)
     * @return {@code {x_prev, pred_x0}}, two new [B, C, H, W] arrays in the manager of {@code x}
     */
    protected NDArray[] xPrevAndPredX0(NDArray x, NDArray et, int index, NoiseSource noise) {
        float aT = current.ddimAlphas()[index];
        float aPrev = (float) current.ddimAlphasPrev()[index];
        float sigmaT = (float) current.ddimSigmas()[index];
        float sqrtOneMinusAt = current.ddimSqrtOneMinusAlphas()[index];
        float sqrtAt = (float) Math.sqrt(aT);
        float dirCoef = (float) Math.sqrt((1f - aPrev) - sigmaT * sigmaT);
        float sqrtAPrev = (float) Math.sqrt(aPrev);
        NDArray predX0 = F.div(x.sub(F.mul(et, sqrtOneMinusAt)), sqrtAt);
        NDArray dirXt = F.mul(et, dirCoef);
        NDArray n = noise.randn(x.getManager(), x.getShape());
        // sigma_t * noise_like(...) * temperature (temperature 1)
        NDArray scaledNoise = F.mul(n, sigmaT);
        NDArray xPrev = F.mul(predX0, sqrtAPrev).add(dirXt).add(scaledNoise);
        return new NDArray[] {xPrev, predX0};
    }
}
