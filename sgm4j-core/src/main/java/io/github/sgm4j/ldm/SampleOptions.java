package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;

/**
 * The optional arguments of ldm's {@code DDIMSampler.sample} / {@code PLMSSampler.sample} / {@code
 * LatentDiffusion.p_sample_loop}, with the reference defaults ({@code eta} 0, {@code log_every_t}
 * 100, guidance scale 1, {@code ddim_discretize} uniform). Setters return {@code this}.
 *
 * <p>The reference's {@code temperature}, {@code noise_dropout}, {@code score_corrector}, {@code
 * quantize_x0} and {@code normals_sequence} arguments are not ported (they keep their defaults: 1,
 * 0, none, false, none). The options only hold references to the arrays they are given ({@code
 * mask}, {@code x0}, {@code x_T}, unconditional conditioning): they never copy or close them, so
 * the caller keeps ownership and must keep them open until sampling returns. An instance is a
 * mutable builder and is not thread-safe.
 */
public final class SampleOptions {

    /**
     * A per-step callback: the reference's {@code callback(i)} and {@code img_callback(pred_x0, i)}
     * in one.
     */
    @FunctionalInterface
    public interface StepCallback {
        /**
         * Called after step {@code i} (0-based, in sampling order) of {@code total}.
         *
         * <p>The arrays are borrowed from the sampler: the callback must not close them, and must
         * not keep them after it returns unless it copies them (the sampler closes the ones it does
         * not log as intermediates on the following step).
         *
         * @param i the 0-based step index in sampling order (0 is the noisiest step)
         * @param total the number of steps of the loop
         * @param img the current sample {@code x_{t-1}} [B, C, H, W]
         * @param predX0 the current x0 prediction [B, C, H, W] (the DDPM loop passes the sample)
         */
        void onStep(int i, int total, NDArray img, NDArray predX0);
    }

    private double eta;
    private NDArray mask;
    private NDArray x0;
    private NDArray xT;
    private Integer logEveryT;
    private double unconditionalGuidanceScale = 1.0;
    private NDArray unconditionalConditioning;
    private String ddimDiscretize = "uniform";
    private StepCallback callback;

    /**
     * Options with the reference defaults: {@code eta} 0, no inpainting, no {@code x_T}, {@code
     * log_every_t} unset (the loop's own default), guidance scale 1 without unconditional
     * conditioning, {@code ddim_discretize} {@code uniform}, no callback.
     *
     * @return a new, independent options instance
     */
    public static SampleOptions defaults() {
        return new SampleOptions();
    }

    /**
     * Sets {@code eta} ({@code ddim_eta}): the DDIM stochasticity, scaling {@code sigma_t} of
     * {@code make_ddim_sampling_parameters} (0 = deterministic DDIM, 1 = DDPM-like ancestral
     * sampling). {@link PLMSSampler} requires 0.
     *
     * @param eta the stochasticity, {@code >= 0}
     * @return this
     * @throws IllegalArgumentException if {@code eta} is negative or NaN
     */
    public SampleOptions eta(double eta) {
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        }
        this.eta = eta;
        return this;
    }

    /**
     * Inpainting: at every step the sampler replaces the sample by {@code q_sample(x0, t) * mask +
     * (1 - mask) * img} (see {@link LdmUtil#blend}). Both must be given together; the shapes are
     * checked when sampling starts ({@link LdmUtil#checkMask}).
     *
     * @param mask 1 = keep {@code x0}, 0 = generate; same rank as the latent and broadcastable to
     *     it ([B or 1, C or 1, H, W]), same dtype and device as the latent; or null to disable
     * @param x0 the known latent [B, C, H, W] (already first-stage encoded), or null to disable
     * @return this
     */
    public SampleOptions inpaint(NDArray mask, NDArray x0) {
        this.mask = mask;
        this.x0 = x0;
        return this;
    }

    /**
     * Sets the starting noise {@code x_T} (otherwise drawn with {@code randn} on the model's
     * manager). The array is returned as the first intermediate, not copied or closed.
     *
     * @param xT float32 [B, C, H, W] matching the sample shape, or null to draw it
     * @return this
     */
    public SampleOptions xT(NDArray xT) {
        this.xT = xT;
        return this;
    }

    /**
     * Sets {@code log_every_t}: an intermediate is kept when the schedule index is a multiple of
     * it (and at the first step), as in the reference.
     *
     * @param logEveryT the logging period in steps (DDIM/PLMS default 100), {@code >= 1}
     * @return this
     * @throws IllegalArgumentException if {@code logEveryT} is less than 1
     */
    public SampleOptions logEveryT(int logEveryT) {
        if (logEveryT < 1) {
            throw new IllegalArgumentException("log_every_t must be >= 1, got " + logEveryT);
        }
        this.logEveryT = logEveryT;
        return this;
    }

    /**
     * Classifier-free guidance: {@code e_t = e_uncond + scale * (e_cond - e_uncond)}, computed with
     * one model call on the doubled batch (unconditional half first). Scale 1 or a null
     * unconditional conditioning disables it (one plain model call).
     *
     * @param scale {@code unconditional_guidance_scale}
     * @param unconditionalConditioning {@code unconditional_conditioning}: same shape, dtype and
     *     device as the conditioning {@code c} (batch-first), or null
     * @return this
     */
    public SampleOptions guidance(double scale, NDArray unconditionalConditioning) {
        this.unconditionalGuidanceScale = scale;
        this.unconditionalConditioning = unconditionalConditioning;
        return this;
    }

    /**
     * Sets {@code ddim_discretize}, the timestep selection of {@link LdmUtil#makeDdimTimesteps}. The
     * name is checked only when sampling starts.
     *
     * @param method {@code uniform} (default) or {@code quad}
     * @return this
     */
    public SampleOptions ddimDiscretize(String method) {
        this.ddimDiscretize = method;
        return this;
    }

    /**
     * Sets the per-step callback.
     *
     * @param callback called after every step, or null for none
     * @return this
     */
    public SampleOptions callback(StepCallback callback) {
        this.callback = callback;
        return this;
    }

    /**
     * Returns {@code eta}.
     *
     * @return the DDIM stochasticity (default 0)
     */
    public double eta() {
        return eta;
    }

    /**
     * Returns the inpainting mask.
     *
     * @return the mask as given to {@link #inpaint} (not a copy), or null
     */
    public NDArray mask() {
        return mask;
    }

    /**
     * Returns the inpainting known latent.
     *
     * @return {@code x0} [B, C, H, W] as given to {@link #inpaint} (not a copy), or null
     */
    public NDArray x0() {
        return x0;
    }

    /**
     * Returns the starting noise.
     *
     * @return {@code x_T} as given to {@link #xT(NDArray)} (not a copy), or null
     */
    public NDArray xT() {
        return xT;
    }

    /**
     * Returns {@code log_every_t}, or a fallback when it was not set.
     *
     * @param def the loop's default (100 for DDIM/PLMS)
     * @return the set logging period, or {@code def} when unset
     */
    public int logEveryTOr(int def) {
        return logEveryT == null ? def : logEveryT;
    }

    /**
     * Returns the guidance scale.
     *
     * @return {@code unconditional_guidance_scale} (default 1)
     */
    public double unconditionalGuidanceScale() {
        return unconditionalGuidanceScale;
    }

    /**
     * Returns the unconditional conditioning.
     *
     * @return the array as given to {@link #guidance} (not a copy), or null
     */
    public NDArray unconditionalConditioning() {
        return unconditionalConditioning;
    }

    /**
     * Returns {@code ddim_discretize}.
     *
     * @return {@code uniform} (default), {@code quad}, or whatever was set
     */
    public String ddimDiscretize() {
        return ddimDiscretize;
    }

    /**
     * Returns the per-step callback.
     *
     * @return the callback, or null
     */
    public StepCallback callback() {
        return callback;
    }
}
