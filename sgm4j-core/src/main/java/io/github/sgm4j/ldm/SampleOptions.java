package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;

/**
 * The optional arguments of ldm's {@code DDIMSampler.sample} / {@code PLMSSampler.sample} / {@code
 * LatentDiffusion.p_sample_loop}, with the reference defaults ({@code eta} 0, {@code log_every_t}
 * 100, guidance scale 1, {@code ddim_discretize} uniform). Setters return {@code this}.
 */
public final class SampleOptions {

    /** A per-step callback ({@code callback(i)} and {@code img_callback(pred_x0, i)} in one). */
    @FunctionalInterface
    public interface StepCallback {
        /**
         * Called after step {@code i} (0-based, in sampling order) of {@code total}.
         *
         * @param img the current sample
         * @param predX0 the current x0 prediction (the DDPM loop passes the sample)
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

    /** Options with the reference defaults. */
    public static SampleOptions defaults() {
        return new SampleOptions();
    }

    /** {@code eta}: DDIM stochasticity (0 = deterministic DDIM, 1 = DDPM-like); PLMS requires 0. */
    public SampleOptions eta(double eta) {
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        }
        this.eta = eta;
        return this;
    }

    /**
     * Inpainting: {@code mask} (1 = keep {@code x0}, 0 = generate), broadcastable to the latent
     * ([B or 1, C or 1, H, W]), and the known latent {@code x0} [B, C, H, W].
     */
    public SampleOptions inpaint(NDArray mask, NDArray x0) {
        this.mask = mask;
        this.x0 = x0;
        return this;
    }

    /** The starting noise {@code x_T} (otherwise drawn with {@code randn}). */
    public SampleOptions xT(NDArray xT) {
        this.xT = xT;
        return this;
    }

    /** {@code log_every_t}: keep an intermediate every this many steps (DDIM/PLMS default 100). */
    public SampleOptions logEveryT(int logEveryT) {
        if (logEveryT < 1) {
            throw new IllegalArgumentException("log_every_t must be >= 1, got " + logEveryT);
        }
        this.logEveryT = logEveryT;
        return this;
    }

    /** Classifier-free guidance: scale and the unconditional conditioning (same format as {@code c}). */
    public SampleOptions guidance(double scale, NDArray unconditionalConditioning) {
        this.unconditionalGuidanceScale = scale;
        this.unconditionalConditioning = unconditionalConditioning;
        return this;
    }

    /** {@code ddim_discretize}: {@code uniform} (default) or {@code quad}. */
    public SampleOptions ddimDiscretize(String method) {
        this.ddimDiscretize = method;
        return this;
    }

    /** The per-step callback. */
    public SampleOptions callback(StepCallback callback) {
        this.callback = callback;
        return this;
    }

    /** {@code eta}. */
    public double eta() {
        return eta;
    }

    /** The inpainting mask, or null. */
    public NDArray mask() {
        return mask;
    }

    /** The inpainting known latent, or null. */
    public NDArray x0() {
        return x0;
    }

    /** {@code x_T}, or null. */
    public NDArray xT() {
        return xT;
    }

    /** {@code log_every_t}, or {@code def} when unset. */
    public int logEveryTOr(int def) {
        return logEveryT == null ? def : logEveryT;
    }

    /** The guidance scale. */
    public double unconditionalGuidanceScale() {
        return unconditionalGuidanceScale;
    }

    /** The unconditional conditioning, or null. */
    public NDArray unconditionalConditioning() {
        return unconditionalConditioning;
    }

    /** {@code ddim_discretize}. */
    public String ddimDiscretize() {
        return ddimDiscretize;
    }

    /** The callback, or null. */
    public StepCallback callback() {
        return callback;
    }
}
