package io.github.sgm4j.golden.runners;

import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator;
import io.github.sgm4j.modules.autoencoding.lpips.VqPerceptual;
import java.util.Map;

/**
 * Cases {@code nlayer_discriminator} (PatchGAN in train mode with BatchNorm running-stat updates,
 * then eval mode) and {@code gan_d_losses} (hinge and vanilla discriminator losses).
 */
public class GanDiscriminatorRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("nlayer_discriminator") || caseName.startsWith("gan_d_losses");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        if (g.name().startsWith("gan_d_losses")) {
            check.check("hinge", VqPerceptual.hingeDLoss(g.input("logits_real"), g.input("logits_fake")));
            check.check("vanilla", VqPerceptual.vanillaDLoss(g.input("logits_real"), g.input("logits_fake")));
            return;
        }
        NLayerDiscriminator d = new Instantiator().instantiate(g.config(), NLayerDiscriminator.class);
        d.attach(g.manager());
        d.loadStateDict(g.weights(), true);
        d.train();
        check.check("out_train", d.forward(g.input("x")));
        String prefix = "state_after_train.";
        for (String key : g.outputKeys()) {
            if (key.startsWith(prefix)) {
                Map<String, io.github.sgm4j.nn.Parameter> t = d.namedTensors();
                check.check(key, t.get(key.substring(prefix.length())).getArray());
            }
        }
        d.eval();
        check.check("out_eval", d.forward(g.input("x2")));
    }
}
