package io.github.sgm4j.modules.diffusionmodules.sigmasampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Port of {@code sgm.modules.diffusionmodules.sigma_sampling.DiscreteSampling}: a uniformly drawn
 * index ({@code randint(0, num_idx, (n,))}, drawn even when {@code rand} is given) into the table
 * {@code discretization(num_idx, do_append_zero, flip)}.
 */
public class DiscreteSampling implements SigmaSampler {

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param numIdx the number of discrete timesteps {@code num_idx} (required)
     * @param doAppendZero whether the discretization appends a trailing 0 (default false)
     * @param flip whether the sigmas are in ascending order (default true)
     */
    public record Params(int numIdx, boolean doAppendZero, boolean flip) {
        /**
         * sgm's defaults: do_append_zero false, flip true.
         *
         * @param numIdx the number of discrete timesteps {@code num_idx}
         * @return the parameters with the reference's defaults
         */
        public static Params defaults(int numIdx) {
            return new Params(numIdx, false, true);
        }
    }

    private final Params params;
    private final float[] sigmas;

    /**
     * Builds the sampler and its table.
     *
     * @param discretization the noise schedule
     * @param params the constructor arguments (see {@code Params})
     */
    public DiscreteSampling(Discretization discretization, Params params) {
        if (params.numIdx() < 1) {
            throw new IllegalArgumentException("DiscreteSampling: num_idx must be >= 1, got " + params.numIdx());
        }
        this.params = params;
        this.sigmas = discretization.sigmas(params.numIdx(), params.doAppendZero(), params.flip());
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
     * The sigma table (a copy).
     *
     * @return the discretization sigmas (a copy)
     */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /**
     * {@code idx_to_sigma(idx)}.
     *
     * @param idx indices into the discretization sigmas, {@code [B]}
     * @return a new array of the selected sigmas, shaped like {@code idx}
     * @throws IllegalArgumentException for an index outside the table
     */
    public NDArray idxToSigma(NDArray idx) {
        long[] ids = idx.toType(DataType.INT64, false).toLongArray();
        float[] out = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            long k = ids[i];
            if (k < -sigmas.length || k >= sigmas.length) {
                throw new IllegalArgumentException(
                        "DiscreteSampling: index " + k + " out of range for " + sigmas.length + " sigmas");
            }
            out[i] = sigmas[(int) (k < 0 ? k + sigmas.length : k)];
        }
        return Tensors.create(idx.getManager(), out, idx.getShape());
    }

    @Override
    public NDArray sample(NDManager manager, int n, NDArray rand, NoiseSource noise) {
        try (NDArray fresh = noise.randint(manager, 0, params.numIdx(), new Shape(n))) {
            return idxToSigma(rand == null ? fresh : rand);
        }
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.sigma_sampling.DiscreteSampling} params.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code DiscreteSampling}
     */
    public static DiscreteSampling fromConfig(ConfigNode p, Instantiator inst) {
        Discretization disc = inst.instantiate(p.getNode("discretization_config"), Discretization.class);
        int numIdx = p.getInt("num_idx");
        Params d = Params.defaults(numIdx);
        return new DiscreteSampling(disc, new Params(numIdx, p.getBoolean("do_append_zero", d.doAppendZero()),
                p.getBoolean("flip", d.flip())));
    }
}
