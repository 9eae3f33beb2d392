package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;

/**
 * Cases {@code unet_*}: the UNet built from the case config, weights loaded strictly; each output
 * {@code out_<kind>} is {@code net(x, timesteps_<kind>, context?, y?)}.
 */
public class UNetRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("unet_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        UNetModel net = new Instantiator().instantiate(g.config(), UNetModel.class);
        net.attach(g.manager());
        net.loadStateDict(g.weights(), true);
        net.eval();
        NDArray context = g.hasInput("context") ? g.input("context") : null;
        NDArray y = g.hasInput("y") ? g.input("y") : null;
        for (String key : g.outputKeys()) {
            if (!key.startsWith("out_")) {
                check.fail("unrecognised output " + key);
                continue;
            }
            String kind = key.substring("out_".length());
            check.check(key, net.forward(g.input("x"), g.input("timesteps_" + kind), context, y));
        }
    }
}
