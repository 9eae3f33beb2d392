package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDList;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer;
import io.github.sgm4j.modules.diffusionmodules.model.Decoder;
import io.github.sgm4j.modules.diffusionmodules.model.Encoder;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.noise.ReplayNoiseSource;

/**
 * Cases {@code vae_encoder}, {@code vae_decoder} ({@code Encoder(x)}, {@code Decoder(z)}) and
 * {@code autoencoder_kl} (moments and posterior, {@code encode(x, return_reg_log=True)}, {@code
 * decode(z)}, forward), built from the case config, weights loaded strictly, noise replayed.
 */
public class AutoencoderRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("vae_") || caseName.startsWith("autoencoder_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        Instantiator inst = new Instantiator();
        if (g.name().startsWith("vae_encoder")) {
            Encoder enc = inst.instantiate(g.config(), Encoder.class);
            enc.attach(g.manager());
            enc.loadStateDict(g.weights(), true);
            check.check("out", enc.forward(g.input("x")));
            return;
        }
        if (g.name().startsWith("vae_decoder")) {
            Decoder dec = inst.instantiate(g.config(), Decoder.class);
            dec.attach(g.manager());
            dec.loadStateDict(g.weights(), true);
            check.check("out", dec.forward(g.input("z")));
            return;
        }
        AutoencoderKL ae = inst.instantiate(g.config(), AutoencoderKL.class);
        ae.attach(g.manager());
        ae.loadStateDict(g.weights(), true);
        ReplayNoiseSource noise = g.noise();
        check.check("moments", ae.moments(g.input("x")));
        try (DiagonalGaussianDistribution post = ae.posterior(g.input("x"))) {
            check.check("posterior.mean", post.getMean());
            check.check("posterior.logvar", post.getLogvar());
            check.check("posterior.std", post.getStd());
        }
        DiagonalGaussianRegularizer.Result enc = ae.encodeWithLog(g.input("x"), noise);
        check.check("encode.z", enc.z());
        check.check("encode.kl_loss", enc.klLoss());
        check.check("decode", ae.decode(g.input("z")));
        NDList fwd = ae.forward(g.input("x"), noise);
        check.check("forward.z", fwd.get(0));
        check.check("forward.dec", fwd.get(1));
        check.check("forward.kl_loss", fwd.get(2));
        noise.assertExhausted();
    }
}
