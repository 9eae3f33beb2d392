package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer;
import io.github.sgm4j.modules.diffusionmodules.model.DDConfig;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;

/**
 * SD's kl-f8 VAE (ch 128, ch_mult [1,2,4,4], 2 res blocks, z 4, no attention resolutions), random init
 * (seed 0); {@link #setUp} turns autograd off for the thread. 1 warm-up and 3 timed runs.
 */
abstract class VaeWorkload implements Workload {

    /** The VAE, built by {@link #setUp}; its arrays belong to the manager given there. */
    protected AutoencoderKL vae;

    /** The noise source (seed 0) that initialised the VAE; subclasses draw their inputs from it. */
    protected NoiseSource noise;

    @Override
    public void setUp(NDManager manager) {
        F.setGradEnabled(false);
        DDConfig dd = new DDConfig(128, 3, List.of(1, 2, 4, 4), 2, List.of(), 0.0, true, 3, 256, 4, true, "vanilla",
                false, false);
        vae = new AutoencoderKL(dd, 4, true, new DiagonalGaussianRegularizer(true), null);
        noise = NoiseSource.seeded(0);
        vae.initialize(manager, noise);
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 3;
    }
}
