package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.diffusionmodules.discretizer.Discretization;
import io.github.sgm4j.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cases {@code discretization_*}: every {@code n<n>.append<0|1>.flip<0|1>} output is {@code
 * disc(n, do_append_zero, flip)}; {@code alphas_cumprod} (F64) and {@code steps.n<n>} ({@code
 * generate_roughly_equally_spaced_steps}) for the DDPM schedule.
 */
public class DiscretizationRunner implements GoldenRunner {

    private static final Pattern CALL = Pattern.compile("n(\\d+)\\.append([01])\\.flip([01])");
    private static final Pattern STEPS = Pattern.compile("steps\\.n(\\d+)");

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("discretization_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        JsonObject cfg = g.json().getAsJsonObject("config");
        Discretization disc = new io.github.sgm4j.config.Instantiator().instantiate(g.config(), Discretization.class);
        NDManager m = g.manager();
        for (String key : g.outputKeys()) {
            Matcher c = CALL.matcher(key);
            Matcher s = STEPS.matcher(key);
            if (c.matches()) {
                int n = Integer.parseInt(c.group(1));
                check.check(key, disc.call(m, n, c.group(2).equals("1"), c.group(3).equals("1")));
            } else if (s.matches() && disc instanceof LegacyDDPMDiscretization ddpm) {
                int n = Integer.parseInt(s.group(1));
                check.check(key, m.create(LegacyDDPMDiscretization.generateRoughlyEquallySpacedSteps(n,
                        ddpm.params().numTimesteps())));
            } else if (key.equals("alphas_cumprod") && disc instanceof LegacyDDPMDiscretization ddpm) {
                check.check(key, m.create(ddpm.alphasCumprod()));
            } else {
                check.fail("unknown output " + key);
            }
        }
    }
}
