package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DenoiseFunction;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.BaseDiffusionSampler}: a discretization, a
 * guider and the step count shared by every sampler.
 *
 * <p>Differences from the reference, by design:
 *
 * <ul>
 *   <li>The caller's {@code x} is never modified. The reference's {@code prepare_sampling_loop}
 *       scales it in place ({@code x *= sqrt(1 + sigmas[0]^2)}), so after a Python call the
 *       caller's tensor holds the scaled start; here a new array is scaled.
 *   <li>Every random draw comes from the {@link NoiseSource} passed in, in the reference's order.
 *   <li>Each step runs inside an {@link NDScope}: only the running {@code x} (and a multistep
 *       sampler's history) survives a step, so memory stays flat over any number of steps.
 *   <li>A {@link SamplerCallback} reports progress after every step and may cancel ({@link
 *       SamplingCancelledException}).
 * </ul>
 *
 * <p>As in the reference, {@code uc} defaults to {@code cond} when null; the sampler's {@code
 * device} option is accepted for config compatibility, the arrays stay on {@code x}'s device.
 */
public abstract class BaseDiffusionSampler {

    private final Discretization discretization;
    private final Integer numSteps;
    private final Guider guider;

    /**
     * Checks and stores the shared sampler settings.
     *
     * @param discretization the noise schedule
     * @param numSteps default step count, or null (then every call must give one)
     * @param guider the guider ({@link IdentityGuider} when null, the reference's default)
     * @throws IllegalArgumentException if {@code discretization} is null or {@code numSteps} is below 1
     */
    protected BaseDiffusionSampler(Discretization discretization, Integer numSteps, Guider guider) {
        if (discretization == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": discretization_config is required");
        }
        if (numSteps != null && numSteps < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": num_steps must be >= 1, got " + numSteps);
        }
        this.discretization = discretization;
        this.numSteps = numSteps;
        this.guider = guider == null ? new IdentityGuider() : guider;
    }

    /**
     * The discretization ({@code discretization_config}).
     *
     * @return the noise schedule
     */
    public Discretization getDiscretization() {
        return discretization;
    }

    /**
     * The guider ({@code guider_config}).
     *
     * @return the guider, never null
     */
    public Guider getGuider() {
        return guider;
    }

    /**
     * The configured step count ({@code num_steps}).
     *
     * @return the step count, or null if none was configured
     */
    public Integer getNumSteps() {
        return numSteps;
    }

    /**
     * The sigmas a run uses: {@code discretization(num_steps)} with a trailing zero.
     *
     * @param steps the step count, or null for the configured one
     * @return {@code steps + 1} float32 sigmas, descending, the last one 0
     * @throws IllegalArgumentException if no step count is known or it is below 1
     */
    public float[] sigmas(Integer steps) {
        Integer n = steps == null ? numSteps : steps;
        if (n == null) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + ": num_steps is not set (neither in the config nor in the call)");
        }
        if (n < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": num_steps must be >= 1, got " + n);
        }
        return discretization.sigmas(n, true, false);
    }

    /**
     * {@code sample(denoiser, x, cond, uc, noise, null, SamplerCallback.NONE)}: the configured step
     * count, no progress callback.
     *
     * @param denoiser the denoiser closure
     * @param x the starting unit-variance noise {@code [B, C, H, W]}; not modified
     * @param cond conditional conditioning
     * @param uc unconditional conditioning, or null (then {@code cond} is used)
     * @param noise source of the random draws; may be null for samplers that draw none
     * @return the sample, a new array in {@code x}'s manager (the caller closes it)
     * @throws IllegalArgumentException if no step count is configured
     */
    public NDArray sample(DenoiseFunction denoiser, NDArray x, Map<String, NDArray> cond, Map<String, NDArray> uc,
            NoiseSource noise) {
        return sample(denoiser, x, cond, uc, noise, null, SamplerCallback.NONE);
    }

    /**
     * {@code sampler(denoiser, x, cond, uc, num_steps)}: runs the sampler from the noise {@code x}
     * (unit variance; scaled by {@code sqrt(1 + sigma_max^2)} internally).
     *
     * @param denoiser the denoiser closure
     * @param x the starting noise [B, ...]; not modified
     * @param cond conditional conditioning
     * @param uc unconditional conditioning, or null (then {@code cond} is used, as in sgm)
     * @param noise source of the random draws (churn / ancestral noise)
     * @param steps the step count, or null for the configured one
     * @param callback progress and cancellation
     * @return the sample, a new array in {@code x}'s manager
     * @throws SamplingCancelledException if the callback cancels
     */
    public NDArray sample(DenoiseFunction denoiser, NDArray x, Map<String, NDArray> cond, Map<String, NDArray> uc,
            NoiseSource noise, Integer steps, SamplerCallback callback) {
        float[] sigmas = sigmas(steps);
        Map<String, NDArray> ucOrCond = uc == null ? cond : uc;
        // x *= torch.sqrt(1.0 + sigmas[0] ** 2.0): float32, on a copy
        float factor = (float) Math.sqrt(1.0f + sigmas[0] * sigmas[0]);
        NDArray x0 = F.mul(x, factor);
        Loop loop = new Loop(denoiser, x, sigmas, cond, ucOrCond, noise, callback == null ? SamplerCallback.NONE : callback);
        return run(loop, x0);
    }

    /**
     * The sampler's loop over {@code loop.sigmas()}; each step inside {@code try (NDScope s = new
     * NDScope())} ending with {@link Loop#endStep}.
     *
     * @param loop the run's state (sigmas, guided denoiser, noise, callback)
     * @param x the scaled start {@code x * sqrt(1 + sigma_max^2)}; owned by the loop, which may close it
     * @return the final sample, in {@code x}'s manager and not attached to any step scope
     */
    protected abstract NDArray run(Loop loop, NDArray x);

    /**
     * {@code denoise(x, denoiser, sigma, cond, uc)}: guider inputs, denoiser, guider output.
     *
     * @param x the current sample {@code [B, ...]}
     * @param denoiser the denoiser closure
     * @param sigma the per-sample noise level {@code [B]}
     * @param cond conditional conditioning
     * @param uc unconditional conditioning
     * @return the guided denoised estimate, a new array shaped like {@code x}
     */
    protected NDArray denoise(NDArray x, DenoiseFunction denoiser, NDArray sigma, Map<String, NDArray> cond,
            Map<String, NDArray> uc) {
        Guider.Inputs in = guider.prepareInputs(x, sigma, cond, uc);
        try (NDArray xin = in.x();
                NDArray sin = in.sigma();
                NDArray denoised = denoiser.denoise(xin, sin, in.cond())) {
            return guider.apply(denoised, sigma);
        }
    }

    /** The state of one sampling run, handed to {@link #run}. */
    protected final class Loop {
        private final DenoiseFunction denoiser;
        private final NDArray callerX;
        private final float[] sigmas;
        private final Map<String, NDArray> cond;
        private final Map<String, NDArray> uc;
        private final NoiseSource noise;
        private final SamplerCallback callback;

        Loop(DenoiseFunction denoiser, NDArray callerX, float[] sigmas, Map<String, NDArray> cond,
                Map<String, NDArray> uc, NoiseSource noise, SamplerCallback callback) {
            this.denoiser = denoiser;
            this.callerX = callerX;
            this.sigmas = sigmas;
            this.cond = cond;
            this.uc = uc;
            this.noise = noise;
            this.callback = callback;
        }

        /**
         * The float32 sigmas with the trailing zero.
         *
         * @return the sigmas (the loop's own array; do not modify)
         */
        public float[] sigmas() {
            return sigmas;
        }

        /**
         * Number of steps ({@code num_sigmas - 1}).
         *
         * @return the step count
         */
        public int steps() {
            return sigmas.length - 1;
        }

        /**
         * The noise source.
         *
         * @return the run's noise source
         * @throws IllegalArgumentException if the caller passed none
         */
        public NoiseSource noise() {
            if (noise == null) {
                throw new IllegalArgumentException("this sampler draws noise: pass a NoiseSource");
            }
            return noise;
        }

        /**
         * {@code s_in * sigmas[i]}: a {@code [B]} float32 array like {@code x}'s batch.
         *
         * @param x the current sample; gives the batch size, manager and device
         * @param value the sigma to fill with
         * @return a new {@code [B]} array in {@code x}'s manager
         */
        public NDArray sigmaVec(NDArray x, float value) {
            NDManager m = x.getManager();
            return m.full(new Shape(x.getShape().get(0)), value).toDevice(x.getDevice(), false);
        }

        /**
         * The guided denoiser at {@code (x, sigma)}.
         *
         * @param x the current sample {@code [B, ...]}
         * @param sigma the per-sample noise level {@code [B]}
         * @return the guided denoised estimate, a new array shaped like {@code x}
         */
        public NDArray denoise(NDArray x, NDArray sigma) {
            return BaseDiffusionSampler.this.denoise(x, denoiser, sigma, cond, uc);
        }

        /**
         * Ends step {@code i}: keeps {@code next} alive past the step's scope, releases the previous
         * running x (never the caller's), reports progress and honours cancellation.
         *
         * @param i the 0-based index of the step that ended
         * @param previous the running x the step started from (closed unless it is the caller's)
         * @param next the step's result
         * @param denoised the step's denoised estimate, passed to the callback
         * @return {@code next}, unregistered from the step's scope
         * @throws SamplingCancelledException if the callback cancels before the last step
         */
        public NDArray endStep(int i, NDArray previous, NDArray next, NDArray denoised) {
            NDScope.unregister(next);
            if (previous != callerX && previous != next) {
                previous.close();
            }
            boolean go = callback.onStep(i, steps(), sigmas[i], denoised);
            if (!go && i < steps() - 1) {
                next.close();
                throw new SamplingCancelledException(BaseDiffusionSampler.this.getClass().getSimpleName(), i + 1,
                        steps());
            }
            return next;
        }
    }

    /**
     * Builds the {@code discretization_config} of a sampler's params.
     *
     * @param p the sampler's params
     * @param inst the instantiator
     * @return the discretization
     */
    protected static Discretization discretizationFrom(ConfigNode p, Instantiator inst) {
        return inst.instantiate(p.getNode("discretization_config"), Discretization.class);
    }

    /**
     * Builds the {@code guider_config} of a sampler's params ({@link IdentityGuider} when absent, as
     * in sgm).
     *
     * @param p the sampler's params
     * @param inst the instantiator
     * @return the guider
     */
    protected static Guider guiderFrom(ConfigNode p, Instantiator inst) {
        ConfigNode g = p.getNodeOrNull("guider_config");
        return g == null ? new IdentityGuider() : inst.instantiate(g, Guider.class);
    }

    /**
     * Reads {@code num_steps} (null when absent: then it must be given at call time).
     *
     * @param p the sampler's params
     * @return the step count, or null
     * @throws io.github.sgm4j.config.ConfigException if it is below 1
     */
    protected static Integer numStepsFrom(ConfigNode p) {
        if (p.isNull("num_steps")) {
            return null;
        }
        int n = p.getInt("num_steps");
        if (n < 1) {
            throw new io.github.sgm4j.config.ConfigException(p.pathOf("num_steps"), "must be >= 1, got " + n);
        }
        return n;
    }
}
