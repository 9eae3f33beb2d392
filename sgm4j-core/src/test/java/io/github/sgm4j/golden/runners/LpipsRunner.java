package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Cases {@code lpips_*}: {@code LPIPS(use_dropout=True).eval()(input, target)} and the per-layer
 * maps, with the stored scaling/lin weights and the formula-generated VGG16.
 */
public class LpipsRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("lpips_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        ConfigNode cfg = ConfigNode.of(Map.of("target", "sgm.modules.autoencoding.lpips.loss.lpips.LPIPS",
                "params", Map.of("use_dropout", true)));
        LPIPS lp = new Instantiator().instantiate(cfg, LPIPS.class);
        lp.attach(g.manager());
        Map<String, NDArray> sd = new LinkedHashMap<>(g.weights());
        sd.putAll(VggFormulaWeights.generate(g, g.manager()));
        lp.loadStateDict(sd, true);
        lp.eval();
        LPIPS.Result r = lp.forwardWithMaps(g.input("input"), g.input("target"));
        check.check("val", r.value());
        for (int k = 0; k < 5; k++) {
            check.check("lin" + k + ".map", r.maps().get(k));
        }
    }
}
