package io.github.sgm4j.modules.diffusionmodules.denoiser;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiserscaling.DenoiserScaling;
import io.github.sgm4j.modules.diffusionmodules.wrappers.DiffusionNetwork;
import io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.util.Dims;
import java.util.Map;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser.Denoiser}: {@code D(x, sigma) =
 * network(x * c_in, c_noise, cond) * c_out + x * c_skip} with the coefficients of a {@link
 * DenoiserScaling}.
 *
 * <p>A {@link Module} because {@link DiscreteDenoiser} owns the {@code sigmas} buffer (keyed {@code
 * denoiser.sigmas} in engine checkpoints); this class itself has no tensors.
 */
public class Denoiser extends Module {

    private final DenoiserScaling scaling;

    /**
     * {@code Denoiser(scaling_config)} with a built scaling.
     *
     * @param scaling the preconditioning ({@code scaling_config})
     */
    public Denoiser(DenoiserScaling scaling) {
        if (scaling == null) {
            throw new IllegalArgumentException("Denoiser: scaling_config must not be null");
        }
        this.scaling = scaling;
    }

    /**
     * The scaling.
     *
     * @return the preconditioning
     */
    public DenoiserScaling getScaling() {
        return scaling;
    }

    /**
     * {@code possibly_quantize_sigma}: identity here.
     *
     * @param sigma the noise levels {@code [B]}
     * @return a new array (a copy of {@code sigma})
     */
    public NDArray possiblyQuantizeSigma(NDArray sigma) {
        return sigma.duplicate();
    }

    /**
     * {@code possibly_quantize_c_noise}: identity here.
     *
     * @param cNoise the network noise conditioning {@code [B]}
     * @return a new array (a copy of {@code cNoise})
     */
    public NDArray possiblyQuantizeCNoise(NDArray cNoise) {
        return cNoise.duplicate();
    }

    /**
     * {@code forward(network, input, sigma, cond)}.
     *
     * @param network the network (e.g. {@code OpenAIWrapper})
     * @param input the noisy input [B, ...]
     * @param sigma the noise levels [B]
     * @param cond conditioning by key
     * @return the denoised estimate, shaped like {@code input}
     */
    public NDArray forward(DiffusionNetwork network, NDArray input, NDArray sigma, Map<String, NDArray> cond) {
        if (sigma.getShape().dimension() != 1 || sigma.getShape().get(0) != input.getShape().get(0)) {
            throw new IllegalArgumentException("Denoiser: sigma must be [B] with B = " + input.getShape().get(0)
                    + " (input " + input.getShape() + "), got " + sigma.getShape());
        }
        try (NDArray q = possiblyQuantizeSigma(sigma);
                NDArray s = Dims.appendDims(q, input.getShape().dimension());
                DenoiserScaling.Scalings c = scaling.apply(s);
                NDArray cNoiseFlat = c.cNoise().reshape(q.getShape());
                NDArray cNoise = possiblyQuantizeCNoise(cNoiseFlat);
                NDArray xIn = input.mul(c.cIn());
                NDArray out = network.forward(xIn, cNoise, cond);
                NDArray outScaled = out.mul(c.cOut());
                NDArray skip = input.mul(c.cSkip())) {
            return outScaled.add(skip);
        }
    }

    /**
     * The sampler-facing closure {@code lambda input, sigma, c: denoiser(network, input, sigma, c)}.
     *
     * @param network the wrapped diffusion network
     * @return the closure the samplers call
     */
    public DenoiseFunction bind(DiffusionNetwork network) {
        return (x, sigma, cond) -> forward(network, x, sigma, cond);
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.denoiser.Denoiser} params ({@code scaling_config}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code Denoiser}
     */
    public static Denoiser fromConfig(ConfigNode p, Instantiator inst) {
        return new Denoiser(inst.instantiate(p.getNode("scaling_config"), DenoiserScaling.class));
    }
}
