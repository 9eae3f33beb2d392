package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.LdmAutoencoderTrainer;
import io.github.sgm4j.modules.autoencoding.losses.LPIPSWithDiscriminator;
import io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer;
import io.github.sgm4j.modules.diffusionmodules.model.DDConfig;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;

/**
 * {@code train-vae-step}: one ldm first-stage iteration (optimizer 0 then optimizer 1, each with its
 * own forward, backward incl. the adaptive weight's gradients, and Adam step) of SD's kl-f8 VAE at
 * 64x64, batch 1, with {@code LPIPSWithDiscriminator} (disc_start 0, kl_weight 1e-6, disc_weight 0.5,
 * random LPIPS weights, dropout active). 1 warm-up and 3 timed runs.
 */
public class TrainVaeStep implements Workload {

    private LdmAutoencoderTrainer trainer;
    private NDArray image;
    private NoiseSource noise;
    private long step;

    @Override
    public String name() {
        return "train-vae-step";
    }

    @Override
    public void setUp(NDManager manager) {
        F.setGradEnabled(true);
        DDConfig dd = new DDConfig(128, 3, List.of(1, 2, 4, 4), 2, List.of(), 0.0, true, 3, 64, 4, true, "vanilla",
                false, false);
        AutoencoderKL vae = new AutoencoderKL(dd, 4, true, new DiagonalGaussianRegularizer(true), null);
        LPIPSWithDiscriminator.Params d = LPIPSWithDiscriminator.Params.defaults(0);
        LPIPSWithDiscriminator loss = new LPIPSWithDiscriminator(new LPIPSWithDiscriminator.Params(0, d.logvarInit(),
                1e-6, d.pixellossWeight(), d.discNumLayers(), d.discInChannels(), d.discFactor(), 0.5,
                d.perceptualWeight(), d.useActnorm(), d.discConditional(), d.discLoss()));
        trainer = new LdmAutoencoderTrainer(vae, loss, 4.5e-6);
        noise = NoiseSource.seeded(0);
        trainer.initialize(manager, noise);
        trainer.configureOptimizers(manager, 4.5e-6);
        try (NDArray r = noise.randn(manager, new Shape(1, 3, 64, 64))) {
            image = r.tanh();
        }
    }

    @Override
    public void runOnce() {
        trainer.trainBatch(image, step, noise);
        step++;
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
