package io.github.sgm4j.models;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.modules.diffusionmodules.sampling.SamplerCallback;

/**
 * Options of {@link DiffusionEngine#sample(java.util.Map, int, SampleOptions)}. Start from {@link
 * #defaults()} and change what you need with the {@code withX} methods, each returning a new record:
 *
 * <pre>{@code
 * SampleOptions o = SampleOptions.defaults().withSeed(7).withNumSteps(20).withGuidanceScale(3.0).withEma(true);
 * }</pre>
 *
 * <p>Thread-safety: an immutable record, safe to share between threads (the callback and the
 * manager it refers to are the caller's and follow their own rules).
 *
 * @param sampler the sampler's target ({@code sgm.modules.diffusionmodules.sampling.EulerEDMSampler}
 *     or a Java class name) replacing the config's {@code sampler_config.target} (its params are
 *     kept), or null for the config's sampler
 * @param numSteps the number of sampler steps, or null for the config's {@code num_steps}
 * @param guidanceScale classifier-free guidance with this scale ({@code VanillaCFG}), or null for
 *     the config's guider
 * @param noGuidance sample without guidance ({@code IdentityGuider}); takes precedence over {@code
 *     guidanceScale}
 * @param seed seed of every draw of the call ({@code NoiseSource.seeded(seed)}): the same seed gives
 *     the same images
 * @param ema sample with the EMA weights ({@link DiffusionEngine#emaScope()}); the engine must keep
 *     an EMA
 * @param imageSize the image side in pixels (divided by the first stage's downsampling factor for
 *     the latent), or null to take it from the config
 * @param progress called after every sampler step (returning false cancels), or null
 * @param manager owns the returned images (the caller closes it), or null for the engine's manager
 */
public record SampleOptions(String sampler, Integer numSteps, Double guidanceScale, boolean noGuidance, long seed,
        boolean ema, Integer imageSize, SamplerCallback progress, NDManager manager) {

    /**
     * Validates the options.
     *
     * @param sampler the sampler's target name, or null for the config's sampler
     * @param numSteps the number of sampler steps (at least 1), or null for the config's
     * @param guidanceScale the {@code VanillaCFG} scale (finite), or null for the config's guider
     * @param noGuidance true to sample without guidance ({@code IdentityGuider})
     * @param seed seed of every draw of the call
     * @param ema true to sample with the EMA weights
     * @param imageSize the image side in pixels (at least 1), or null to take it from the config
     * @param progress called after every sampler step (false cancels), or null
     * @param manager owns the returned images (the caller closes it), or null for the engine's
     * @throws IllegalArgumentException when {@code numSteps} or {@code imageSize} is below 1 or the
     *     guidance scale is not finite, or {@code sampler} is blank
     */
    public SampleOptions {
        if (numSteps != null && numSteps < 1) {
            throw new IllegalArgumentException("numSteps must be >= 1, got " + numSteps);
        }
        if (imageSize != null && imageSize < 1) {
            throw new IllegalArgumentException("imageSize must be >= 1, got " + imageSize);
        }
        if (guidanceScale != null && !Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidanceScale must be finite, got " + guidanceScale);
        }
        if (sampler != null && sampler.isBlank()) {
            throw new IllegalArgumentException("sampler must be a target name or null, got a blank string");
        }
    }

    /**
     * The config's sampler, steps and guider; seed 0; training weights; size from the config; no
     * callback; results in the engine's manager.
     *
     * @return the default options
     */
    public static SampleOptions defaults() {
        return new SampleOptions(null, null, null, false, 0L, false, null, null, null);
    }

    /**
     * Replaces the config's sampler.
     *
     * @param target the sampler's target name, or null for the config's
     * @return the new options
     */
    public SampleOptions withSampler(String target) {
        return new SampleOptions(target, numSteps, guidanceScale, noGuidance, seed, ema, imageSize, progress, manager);
    }

    /**
     * Sets the number of sampler steps.
     *
     * @param steps the steps (at least 1), or null for the config's
     * @return the new options
     */
    public SampleOptions withNumSteps(Integer steps) {
        return new SampleOptions(sampler, steps, guidanceScale, noGuidance, seed, ema, imageSize, progress, manager);
    }

    /**
     * Classifier-free guidance ({@code VanillaCFG}) with {@code scale}.
     *
     * @param scale the guidance scale, or null for the config's guider
     * @return the new options (guidance on)
     */
    public SampleOptions withGuidanceScale(Double scale) {
        return new SampleOptions(sampler, numSteps, scale, false, seed, ema, imageSize, progress, manager);
    }

    /**
     * No guidance ({@code IdentityGuider}): the conditional prediction only.
     *
     * @return the new options
     */
    public SampleOptions withoutGuidance() {
        return new SampleOptions(sampler, numSteps, null, true, seed, ema, imageSize, progress, manager);
    }

    /**
     * Sets the seed of the call's draws.
     *
     * @param newSeed the seed
     * @return the new options
     */
    public SampleOptions withSeed(long newSeed) {
        return new SampleOptions(sampler, numSteps, guidanceScale, noGuidance, newSeed, ema, imageSize, progress, manager);
    }

    /**
     * Samples with the EMA weights or the training weights.
     *
     * @param useEma true for the EMA weights
     * @return the new options
     */
    public SampleOptions withEma(boolean useEma) {
        return new SampleOptions(sampler, numSteps, guidanceScale, noGuidance, seed, useEma, imageSize, progress, manager);
    }

    /**
     * Sets the image side in pixels.
     *
     * @param size the side, or null to take it from the config
     * @return the new options
     */
    public SampleOptions withImageSize(Integer size) {
        return new SampleOptions(sampler, numSteps, guidanceScale, noGuidance, seed, ema, size, progress, manager);
    }

    /**
     * Sets the progress callback.
     *
     * @param callback called after every step (false cancels), or null
     * @return the new options
     */
    public SampleOptions withProgress(SamplerCallback callback) {
        return new SampleOptions(sampler, numSteps, guidanceScale, noGuidance, seed, ema, imageSize, callback, manager);
    }

    /**
     * Sets the manager that owns the returned images.
     *
     * @param resultManager the manager (the caller closes it), or null for the engine's manager
     * @return the new options
     */
    public SampleOptions withManager(NDManager resultManager) {
        return new SampleOptions(sampler, numSteps, guidanceScale, noGuidance, seed, ema, imageSize, progress,
                resultManager);
    }
}
