package io.github.sgm4j.modules.diffusionmodules.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.lossweighting.DiffusionLossWeighting;
import io.github.sgm4j.modules.diffusionmodules.sigmasampling.SigmaSampler;
import io.github.sgm4j.modules.diffusionmodules.wrappers.DiffusionNetwork;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.util.Dims;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Port of {@code sgm.modules.diffusionmodules.loss.StandardDiffusionLoss}: draws sigmas, noises
 * the input, denoises it and returns the weighted per-sample {@code l2} or {@code l1} error.
 *
 * <p>Draw order per call (as the reference): the sigma sampler's draw, {@code randn_like(input)},
 * and with {@code offset_noise_level > 0} a {@code randn((B, C))} offset broadcast over the spatial
 * dims. The reference version crashes there (it reads an unset {@code n_frames}); this port does
 * what upstream PR #471 intends for images (offset shape {@code (B, C)}).
 */
public class StandardDiffusionLoss {

    /** The supported {@code loss_type} values. */
    public static final List<String> LOSS_TYPES = List.of("l2", "l1");

    /**
     * Constructor arguments with sgm's defaults (the collaborators are built separately).
     *
     * @param lossType one of {@link StandardDiffusionLoss#LOSS_TYPES} (default "l2")
     * @param offsetNoiseLevel the offset-noise level added per sample and channel (default 0)
     * @param batch2modelKeys batch keys passed to the network as extra inputs (default none; only the
     *     empty list is supported)
     */
    public record Params(String lossType, double offsetNoiseLevel, List<String> batch2modelKeys) {
        /**
         * sgm's defaults: l2, no offset noise, no batch2model keys.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params("l2", 0.0, List.of());
        }
    }

    /**
     * The loss with the intermediates the reference computes (for inspection and tests). Closing it
     * closes every array.
     *
     * @param loss the per-sample loss {@code [B]}
     * @param sigmas the sampled noise levels {@code [B]}
     * @param noisedInput the noised input (with the offset noise, if any), shaped like the input
     * @param modelOutput the denoiser output, shaped like the input
     * @param w the loss weights with trailing dims appended, {@code [B, 1, ..., 1]}
     */
    public record Result(NDArray loss, NDArray sigmas, NDArray noisedInput, NDArray modelOutput, NDArray w)
            implements AutoCloseable {
        @Override
        public void close() {
            loss.close();
            sigmas.close();
            noisedInput.close();
            modelOutput.close();
            w.close();
        }
    }

    private final SigmaSampler sigmaSampler;
    private final DiffusionLossWeighting lossWeighting;
    private final Params params;
    private final Set<String> batch2modelKeys;

    /**
     * Builds the loss.
     *
     * @param sigmaSampler the training sigma sampler ({@code sigma_sampler_config})
     * @param lossWeighting the per-sigma loss weighting ({@code loss_weighting_config})
     * @param params the constructor arguments (see {@code Params})
     * @throws IllegalArgumentException for an unknown {@code loss_type}
     */
    public StandardDiffusionLoss(SigmaSampler sigmaSampler, DiffusionLossWeighting lossWeighting, Params params) {
        if (!LOSS_TYPES.contains(params.lossType())) {
            throw new IllegalArgumentException("StandardDiffusionLoss: unknown loss_type '" + params.lossType()
                    + "', expected one of " + LOSS_TYPES);
        }
        this.sigmaSampler = sigmaSampler;
        this.lossWeighting = lossWeighting;
        this.params = params;
        this.batch2modelKeys = new LinkedHashSet<>(params.batch2modelKeys() == null ? List.of() : params.batch2modelKeys());
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
     * The sigma sampler.
     *
     * @return the sigma sampler
     */
    public SigmaSampler getSigmaSampler() {
        return sigmaSampler;
    }

    /**
     * The loss weighting.
     *
     * @return the loss weighting
     */
    public DiffusionLossWeighting getLossWeighting() {
        return lossWeighting;
    }

    /**
     * {@code _forward(network, denoiser, cond, input, batch)}: the per-sample loss [B].
     *
     * @param network the diffusion network
     * @param denoiser the denoiser
     * @param cond the conditioning by key
     * @param input the clean latents {@code [B, C, H, W]}
     * @param batch the batch, checked for {@code batch2model_keys}; may be null
     * @param noise the source of the sigma and noise draws
     * @return the per-sample loss {@code [B]}, a new array the caller closes
     * @throws IllegalArgumentException if {@code batch} holds one of {@code batch2model_keys}
     *     (extra network inputs are not supported by {@link DiffusionNetwork})
     */
    public NDArray forward(DiffusionNetwork network, Denoiser denoiser, Map<String, NDArray> cond, NDArray input,
            Map<String, ?> batch, NoiseSource noise) {
        try (Result r = forwardDetailed(network, denoiser, cond, input, batch, noise)) {
            return io.github.sgm4j.nn.F.alias(r.loss());
        }
    }

    /**
     * {@link #forward} returning the intermediates too (sigmas, noised input, model output, w).
     *
     * @param network the diffusion network
     * @param denoiser the denoiser
     * @param cond the conditioning by key
     * @param input the clean latents {@code [B, C, H, W]}
     * @param batch the batch, checked for {@code batch2model_keys}; may be null
     * @param noise the source of the sigma and noise draws
     * @return the loss and its intermediates, new arrays; close the result
     */
    public Result forwardDetailed(DiffusionNetwork network, Denoiser denoiser, Map<String, NDArray> cond,
            NDArray input, Map<String, ?> batch, NoiseSource noise) {
        if (batch != null) {
            List<String> extra = new ArrayList<>();
            for (String k : batch2modelKeys) {
                if (batch.containsKey(k)) {
                    extra.add(k);
                }
            }
            if (!extra.isEmpty()) {
                throw new IllegalArgumentException("StandardDiffusionLoss: batch2model_keys " + extra
                        + " would pass extra inputs to the network, which DiffusionNetwork does not take");
            }
        }
        int nd = input.getShape().dimension();
        long b = input.getShape().get(0);
        NDArray sigmas = sigmaSampler.sample(input.getManager(), (int) b, null, noise);
        NDArray noiseArr = noise.randnLike(input);
        if (params.offsetNoiseLevel() > 0.0) {
            if (nd < 2) {
                throw new IllegalArgumentException(
                        "StandardDiffusionLoss: offset noise needs input [B, C, ...], got " + input.getShape());
            }
            // offset_shape = (B, C) for images (upstream PR #471 with n_frames = None)
            try (NDArray offset = noise.randn(input.getManager(), new Shape(b, input.getShape().get(1)));
                    NDArray scaled = F.mul(offset, (float) params.offsetNoiseLevel());
                    NDArray bc = Dims.appendDims(scaled, nd);
                    NDArray old = noiseArr) {
                noiseArr = old.add(bc);
            }
        }
        try (NDArray n = noiseArr;
                NDArray sigmasBc = Dims.appendDims(sigmas, nd);
                NDArray scaledNoise = n.mul(sigmasBc)) {
            NDArray noisedInput = input.add(scaledNoise);
            NDArray modelOutput = denoiser.forward(network, noisedInput, sigmas, cond);
            NDArray w;
            try (NDArray w1 = lossWeighting.apply(sigmas)) {
                w = Dims.appendDims(w1, nd).duplicate();
            }
            NDArray loss = getLoss(modelOutput, input, w);
            return new Result(loss, sigmas, noisedInput, modelOutput, w);
        }
    }

    /**
     * {@code get_loss(model_output, target, w)}: mean of {@code w * err} over the non-batch dims.
     *
     * @param modelOutput the denoised estimate {@code [B, ...]}
     * @param target the clean input {@code [B, ...]}
     * @param w the loss weights, broadcastable to {@code target}
     * @return the per-sample loss {@code [B]}, a new array
     */
    public NDArray getLoss(NDArray modelOutput, NDArray target, NDArray w) {
        long b = target.getShape().get(0);
        try (NDArray diff = modelOutput.sub(target);
                NDArray err = "l2".equals(params.lossType()) ? diff.square() : diff.abs();
                NDArray weighted = w.mul(err);
                NDArray flat = weighted.reshape(b, -1)) {
            return flat.mean(new int[] {1});
        }
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.loss.StandardDiffusionLoss} params ({@code
     * sigma_sampler_config}, {@code loss_weighting_config}, {@code loss_type}, {@code
     * offset_noise_level}, {@code batch2model_keys}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code StandardDiffusionLoss}
     */
    public static StandardDiffusionLoss fromConfig(ConfigNode p, Instantiator inst) {
        SigmaSampler sampler = inst.instantiate(p.getNode("sigma_sampler_config"), SigmaSampler.class);
        DiffusionLossWeighting w = inst.instantiate(p.getNode("loss_weighting_config"), DiffusionLossWeighting.class);
        Params d = Params.defaults();
        String lossType = p.getString("loss_type", d.lossType());
        if (!LOSS_TYPES.contains(lossType)) {
            throw new io.github.sgm4j.config.ConfigException(p.pathOf("loss_type"),
                    "unknown loss type \"" + lossType + "\" (expected one of " + LOSS_TYPES + ")");
        }
        return new StandardDiffusionLoss(sampler, w, new Params(lossType, p.getDouble("offset_noise_level",
                d.offsetNoiseLevel()), p.getStringList("batch2model_keys", List.of())));
    }
}
