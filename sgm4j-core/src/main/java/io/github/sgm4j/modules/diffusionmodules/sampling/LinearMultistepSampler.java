package io.github.sgm4j.modules.diffusionmodules.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.Guider;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;
import io.github.sgm4j.nn.F;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * Port of {@code sgm.modules.diffusionmodules.sampling.LinearMultistepSampler} (k-diffusion's
 * {@code sample_lms}): a linear multistep method over the last {@code order} derivatives, with
 * coefficients from {@link SamplingUtils#linearMultistepCoeff} (adaptive Gauss–Kronrod, as the
 * reference's {@code scipy.integrate.quad}). Each coefficient (a double) multiplies a float32
 * derivative as a float32 scalar, summed newest-first, as in the reference.
 */
public class LinearMultistepSampler extends BaseDiffusionSampler {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param numSteps default step count, or null
     * @param order the number of past derivatives combined (default 4)
     * @param verbose the reference's progress-bar flag; accepted, unused (default false)
     * @param device the reference's device; accepted, unused (default "cuda")
     */
    public record Params(Integer numSteps, int order, boolean verbose, String device) {
        /**
         * sgm's defaults: order 4, verbose false, device "cuda".
         *
         * @param numSteps default step count, or null
         * @return the parameters with the reference's defaults
         */
        public static Params defaults(Integer numSteps) {
            return new Params(numSteps, 4, false, "cuda");
        }
    }

    private final Params params;

    /**
     * Builds the sampler.
     *
     * @param discretization the noise schedule
     * @param guider the guider, or null for {@link
     *     io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider}
     * @param params the constructor arguments (see {@code Params})
     */
    public LinearMultistepSampler(Discretization discretization, Guider guider, Params params) {
        super(discretization, params.numSteps(), guider);
        if (params.order() < 1) {
            throw new IllegalArgumentException("LinearMultistepSampler: order must be >= 1, got " + params.order());
        }
        this.params = params;
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params params() {
        return params;
    }

    /**
     * The coefficients of step {@code i} ({@code cur_order = min(i + 1, order)} of them) for these sigmas.
     *
     * @param sigmas the float32 sigmas with the trailing zero
     * @param i the 0-based step index
     * @return the coefficients, for the newest derivative first
     */
    public double[] coefficients(float[] sigmas, int i) {
        int curOrder = Math.min(i + 1, params.order());
        double[] coeffs = new double[curOrder];
        for (int j = 0; j < curOrder; j++) {
            coeffs[j] = SamplingUtils.linearMultistepCoeff(curOrder, sigmas, i, j);
        }
        return coeffs;
    }

    @Override
    protected NDArray run(Loop loop, NDArray x) {
        float[] sigmas = loop.sigmas();
        // ds, newest first
        Deque<NDArray> ds = new ArrayDeque<>();
        try {
            for (int i = 0; i < sigmas.length - 1; i++) {
                try (NDScope scope = new NDScope()) {
                    NDArray sigma = loop.sigmaVec(x, sigmas[i]);
                    NDArray denoised = loop.denoise(x, sigma);
                    NDArray d = SamplingUtils.toD(x, sigma, denoised);
                    NDScope.unregister(d);
                    ds.addFirst(d);
                    if (ds.size() > params.order()) {
                        ds.removeLast().close();
                    }
                    double[] coeffs = coefficients(sigmas, i);
                    // x + sum(coeff * d for coeff, d in zip(coeffs, reversed(ds)))
                    NDArray acc = null;
                    Iterator<NDArray> it = ds.iterator();
                    for (double coeff : coeffs) {
                        NDArray term = F.mul(it.next(), (float) coeff);
                        acc = acc == null ? term : acc.add(term);
                    }
                    x = loop.endStep(i, x, x.add(acc), denoised);
                }
            }
        } finally {
            for (NDArray d : ds) {
                d.close();
            }
        }
        return x;
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sampling.LinearMultistepSampler} params: {@code order} (4),
     * {@code discretization_config}, {@code num_steps} (null: given per call; must be at least 1), {@code guider_config}
     * (IdentityGuider when absent), {@code verbose} and {@code device} (sgm's "cuda"); {@code verbose} and
     * {@code device} are type-checked and have no effect: the arrays follow {@code x}'s device, progress goes
     * through {@link SamplerCallback}.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code LinearMultistepSampler}
     */
    public static LinearMultistepSampler fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(null);
        return new LinearMultistepSampler(discretizationFrom(p, inst), guiderFrom(p, inst), new Params(numStepsFrom(p),
                p.getInt("order", d.order()), p.getBoolean("verbose", false), p.getString("device", d.device())));
    }
}
