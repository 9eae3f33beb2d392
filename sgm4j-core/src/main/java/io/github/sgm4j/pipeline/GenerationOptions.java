package io.github.sgm4j.pipeline;

import ai.djl.ndarray.NDManager;

/**
 * Options of {@link SamplingPipeline#txt2img} and {@link SamplingPipeline#img2img}. Start from
 * {@link #defaults()} and change what you need with the {@code withX} methods (each returns a new
 * record):
 *
 * <pre>{@code
 * GenerationOptions o = GenerationOptions.defaults().withSteps(30).withGuidanceScale(7.5).withSize(512, 512).withSeed(42);
 * }</pre>
 *
 * <p>A null field takes the model family's reference default (see {@link SamplingPipeline}).
 *
 * @param steps sampler steps, or null (50, the default of ldm's {@code txt2img.py} and sgm's API)
 * @param guidanceScale classifier-free guidance scale, or null (7.5 for the ldm path as in {@code
 *     txt2img.py}, 6.0 for sgm's {@code SamplingParams})
 * @param sampler {@code ddim} / {@code plms} (ldm path) or an sgm sampler ({@code DPMPP2MSampler},
 *     {@code EulerEDMSampler}, {@code EulerAncestralSampler}, {@code HeunEDMSampler}, {@code
 *     DPMPP2SAncestralSampler}, {@code LinearMultistepSampler}, or its full target), or null ({@code
 *     ddim} for ldm, {@code DPMPP2MSampler} for sgm as in the API)
 * @param width image width in pixels, a multiple of the first stage's factor (8), or null for the
 *     family's size (512 for SD 1.x / 2.x, 768 for v-prediction SD 2.x, 1024 for SDXL)
 * @param height image height in pixels, as {@code width}
 * @param seed seed of every draw of the call (the initial noise first)
 * @param n number of images of the batch
 * @param strength img2img strength in [0, 1] ({@code Img2ImgDiscretizationWrapper}); 1 re-noises
 *     fully
 * @param eta DDIM {@code eta} (ldm path), 0 as in {@code txt2img.py}
 * @param aestheticScore SDXL refiner's {@code aesthetic_score} (6.0 as the API's refiner call)
 * @param negativeAestheticScore the refiner's unconditional {@code aesthetic_score} (2.5)
 * @param refiner an SDXL refiner pipeline run on the base's latents, or null
 * @param refinerStrength the refiner's img2img strength (0.15 when a refiner is set and this is null)
 * @param progress called after every sampler step, or null
 * @param manager owns the returned images, or null for the pipeline's manager
 */
public record GenerationOptions(Integer steps, Double guidanceScale, String sampler, Integer width, Integer height,
        long seed, int n, double strength, double eta, double aestheticScore, double negativeAestheticScore,
        SamplingPipeline refiner, Double refinerStrength, Progress progress, NDManager manager) {

    /** Per-step progress of a sampling run. */
    @FunctionalInterface
    public interface Progress {
        /**
         * One finished sampler step.
         *
         * @param step the 1-based step
         * @param total the steps of this run
         */
        void onStep(int step, int total);
    }

    /**
     * Validates the options.
     *
     * @param steps see the record
     * @param guidanceScale see the record
     * @param sampler see the record
     * @param width see the record
     * @param height see the record
     * @param seed see the record
     * @param n see the record
     * @param strength see the record
     * @param eta see the record
     * @param aestheticScore see the record
     * @param negativeAestheticScore see the record
     * @param refiner see the record
     * @param refinerStrength see the record
     * @param progress see the record
     * @param manager see the record
     * @throws IllegalArgumentException naming the option out of range
     */
    public GenerationOptions {
        if (steps != null && steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (guidanceScale != null && !Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance scale must be finite, got " + guidanceScale);
        }
        if ((width != null && width < 1) || (height != null && height < 1)) {
            throw new IllegalArgumentException("size must be positive, got " + width + "x" + height);
        }
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        if (!(strength >= 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in [0, 1], got " + strength);
        }
        if (refinerStrength != null && !(refinerStrength >= 0 && refinerStrength <= 1)) {
            throw new IllegalArgumentException("refiner strength must be in [0, 1], got " + refinerStrength);
        }
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        }
        if (sampler != null && sampler.isBlank()) {
            throw new IllegalArgumentException("sampler must be a name or null, got a blank string");
        }
    }

    /**
     * The family defaults: null steps, scale, sampler and size; seed 0; one image; strength 1 (0.75
     * is the usual img2img choice); eta 0; aesthetic scores 6.0 / 2.5; no refiner; no progress.
     *
     * @return the defaults
     */
    public static GenerationOptions defaults() {
        return new GenerationOptions(null, null, null, null, null, 0L, 1, 1.0, 0.0, 6.0, 2.5, null, null, null, null);
    }

    /**
     * Sets the sampler steps.
     *
     * @param v the steps, or null for the default
     * @return the new options
     */
    public GenerationOptions withSteps(Integer v) {
        return new GenerationOptions(v, guidanceScale, sampler, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the guidance scale.
     *
     * @param v the scale, or null for the default
     * @return the new options
     */
    public GenerationOptions withGuidanceScale(Double v) {
        return new GenerationOptions(steps, v, sampler, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the sampler.
     *
     * @param v the sampler's name, or null for the default
     * @return the new options
     */
    public GenerationOptions withSampler(String v) {
        return new GenerationOptions(steps, guidanceScale, v, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the image size.
     *
     * @param w the width in pixels, or null for the default
     * @param h the height in pixels, or null for the default
     * @return the new options
     */
    public GenerationOptions withSize(Integer w, Integer h) {
        return new GenerationOptions(steps, guidanceScale, sampler, w, h, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the seed.
     *
     * @param v the seed
     * @return the new options
     */
    public GenerationOptions withSeed(long v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, v, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the batch size.
     *
     * @param v the number of images
     * @return the new options
     */
    public GenerationOptions withN(int v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, v, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the img2img strength.
     *
     * @param v the strength in [0, 1]
     * @return the new options
     */
    public GenerationOptions withStrength(double v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, v, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets DDIM's eta (ldm path).
     *
     * @param v the eta, at least 0
     * @return the new options
     */
    public GenerationOptions withEta(double v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, strength, v, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, manager);
    }

    /**
     * Sets the refiner's aesthetic scores.
     *
     * @param positive the conditional score
     * @param negative the unconditional score
     * @return the new options
     */
    public GenerationOptions withAestheticScores(double positive, double negative) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, strength, eta, positive,
                negative, refiner, refinerStrength, progress, manager);
    }

    /**
     * Runs an SDXL refiner on the base's latents.
     *
     * @param pipeline the refiner (built from {@code sd_xl_refiner.yaml}), or null for none
     * @param refineStrength its img2img strength, or null for 0.15
     * @return the new options
     */
    public GenerationOptions withRefiner(SamplingPipeline pipeline, Double refineStrength) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, pipeline, refineStrength, progress, manager);
    }

    /**
     * Sets the progress callback.
     *
     * @param v the callback, or null
     * @return the new options
     */
    public GenerationOptions withProgress(Progress v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, v, manager);
    }

    /**
     * Sets the manager of the returned images.
     *
     * @param v the manager (the caller closes it), or null for the pipeline's
     * @return the new options
     */
    public GenerationOptions withManager(NDManager v) {
        return new GenerationOptions(steps, guidanceScale, sampler, width, height, seed, n, strength, eta, aestheticScore,
                negativeAestheticScore, refiner, refinerStrength, progress, v);
    }
}
