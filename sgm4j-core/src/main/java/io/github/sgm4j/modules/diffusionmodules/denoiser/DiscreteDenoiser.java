package io.github.sgm4j.modules.diffusionmodules.denoiser;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.diffusionmodules.denoiserscaling.DenoiserScaling;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Parameter;

/**
 * Port of {@code sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser}: a {@link Denoiser} for
 * networks trained on a discrete schedule (SD 1.x/2.x, SDXL). Sigma is snapped to the nearest
 * entry of the {@code sigmas} buffer and, with {@code quantize_c_noise}, the network receives the
 * int64 index of that entry as its timestep.
 */
public class DiscreteDenoiser extends Denoiser {

    /**
     * Constructor arguments with sgm's defaults (the collaborators are built separately).
     *
     * @param numIdx the number of discrete timesteps {@code num_idx} (required)
     * @param doAppendZero whether the sigma table gets a trailing 0 (default false)
     * @param quantizeCNoise whether {@code c_noise} is replaced by the index of the nearest table sigma
     *     (default true)
     * @param flip whether the sigma table is ascending (default true)
     */
    public record Params(int numIdx, boolean doAppendZero, boolean quantizeCNoise, boolean flip) {
        /**
         * sgm's defaults: do_append_zero false, quantize_c_noise true, flip true.
         *
         * @param numIdx the number of discrete timesteps {@code num_idx}
         * @return the parameters with the reference's defaults
         */
        public static Params defaults(int numIdx) {
            return new Params(numIdx, false, true, true);
        }
    }

    private final Params params;
    private final Discretization discretization;
    private final Parameter sigmas;

    /**
     * Builds the denoiser; the {@code sigmas} buffer is {@code discretization(num_idx,
     * do_append_zero, flip)} (ascending with the default {@code flip}).
     *
     * @param scaling the preconditioning ({@code scaling_config})
     * @param discretization the schedule whose {@code num_idx} sigmas become the table
     * @param params the constructor arguments (see {@code Params})
     */
    public DiscreteDenoiser(DenoiserScaling scaling, Discretization discretization, Params params) {
        super(scaling);
        if (params.numIdx() < 1) {
            throw new IllegalArgumentException("DiscreteDenoiser: num_idx must be >= 1, got " + params.numIdx());
        }
        this.params = params;
        this.discretization = discretization;
        float[] values = discretization.sigmas(params.numIdx(), params.doAppendZero(), params.flip());
        this.sigmas = buffer("sigmas", new Shape(values.length), DataType.FLOAT32, Init.values(values), true);
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
     * The discretization the buffer was computed from.
     *
     * @return the discretization
     */
    public Discretization getDiscretization() {
        return discretization;
    }

    /**
     * The {@code sigmas} buffer array (allocated once the module is attached/initialised).
     *
     * @return the table {@code [num_idx]} (owned by this module)
     */
    public NDArray sigmas() {
        return sigmas.getArray();
    }

    /**
     * {@code sigma_to_idx}: index of the nearest table sigma (argmin |sigma - sigmas|), int64, shaped like sigma.
     *
     * @param sigma the noise levels (any shape)
     * @return a new int64 array shaped like {@code sigma}
     */
    public NDArray sigmaToIdx(NDArray sigma) {
        NDArray table = sigmas.getArray();
        // dists = sigma - sigmas[:, None]  -> [num_idx, N]
        try (NDArray flat = sigma.reshape(1, -1);
                NDArray col = table.reshape(-1, 1);
                NDArray dists = flat.sub(col);
                NDArray abs = dists.abs();
                NDArray idx = abs.argMin(0)) {
            return idx.toType(DataType.INT64, false).reshape(sigma.getShape());
        }
    }

    /**
     * {@code idx_to_sigma}: {@code sigmas[idx]} (negative indices count from the end, as in torch).
     *
     * @param idx the indices (negative ones count from the end)
     * @return a new float32 array shaped like {@code idx}
     * @throws IllegalArgumentException if an index is outside {@code [-num_sigmas, num_sigmas)}
     */
    public NDArray idxToSigma(NDArray idx) {
        float[] table = sigmas.getArray().toFloatArray();
        long[] ids = idx.toType(DataType.INT64, false).toLongArray();
        float[] out = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            long k = ids[i];
            if (k < -table.length || k >= table.length) {
                throw new IllegalArgumentException("DiscreteDenoiser.idx_to_sigma: index " + k
                        + " out of range for " + table.length + " sigmas");
            }
            out[i] = table[(int) (k < 0 ? k + table.length : k)];
        }
        return Tensors.create(idx.getManager(), out, idx.getShape()).toDevice(idx.getDevice(), false);
    }

    @Override
    public NDArray possiblyQuantizeSigma(NDArray sigma) {
        try (NDArray idx = sigmaToIdx(sigma)) {
            return idxToSigma(idx);
        }
    }

    @Override
    public NDArray possiblyQuantizeCNoise(NDArray cNoise) {
        return params.quantizeCNoise() ? sigmaToIdx(cNoise) : cNoise.duplicate();
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser} params ({@code
     * scaling_config}, {@code num_idx}, {@code discretization_config}, {@code do_append_zero}, {@code
     * quantize_c_noise}, {@code flip}).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code DiscreteDenoiser}
     */
    public static DiscreteDenoiser fromConfig(ConfigNode p, Instantiator inst) {
        DenoiserScaling scaling = inst.instantiate(p.getNode("scaling_config"), DenoiserScaling.class);
        int numIdx = p.getInt("num_idx");
        Discretization disc = inst.instantiate(p.getNode("discretization_config"), Discretization.class);
        Params d = Params.defaults(numIdx);
        return new DiscreteDenoiser(scaling, disc, new Params(numIdx, p.getBoolean("do_append_zero", d.doAppendZero()),
                p.getBoolean("quantize_c_noise", d.quantizeCNoise()), p.getBoolean("flip", d.flip())));
    }
}
