package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.ldm.LdmUtil;

/** Cases {@code ldm_beta_schedules} and {@code ldm_ddim_schedule}: the float64 schedule helpers. */
public class LdmSchedulesRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.equals("ldm_beta_schedules") || caseName.equals("ldm_ddim_schedule");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        NDManager m = g.manager();
        if (g.name().equals("ldm_beta_schedules")) {
            int t = g.param("T").getAsInt();
            double ls = g.param("ls").getAsDouble();
            double le = g.param("le").getAsDouble();
            double cs = g.param("cs").getAsDouble();
            for (String s : new String[] {"linear", "cosine", "sqrt_linear", "sqrt"}) {
                check.check("betas." + s, m.create(LdmUtil.makeBetaSchedule(s, t, ls, le, cs)));
            }
            // sgm's copy (sgm.modules.diffusionmodules.util.make_beta_schedule) implements 'linear' only
            check.check("sgm_linear", m.create(LdmUtil.makeBetaSchedule("linear", t, ls, le, cs)));
            return;
        }
        int t = g.param("T").getAsInt();
        int steps = g.param("steps").getAsInt();
        double[] ac = LdmUtil.alphasCumprod(LdmUtil.makeBetaSchedule("linear", t, g.param("ls").getAsDouble(),
                g.param("le").getAsDouble(), 8e-3));
        float[] ac32 = new float[ac.length];
        for (int i = 0; i < ac.length; i++) {
            ac32[i] = (float) ac[i];
        }
        check.check("alphas_cumprod", m.create(ac32));
        long[] uniform = LdmUtil.makeDdimTimesteps("uniform", steps, t);
        check.check("ts.uniform", m.create(uniform));
        check.check("ts.quad", m.create(LdmUtil.makeDdimTimesteps("quad", steps, t)));
        for (var e : g.param("etas").getAsJsonArray()) {
            double eta = e.getAsDouble();
            LdmUtil.DdimParameters p = LdmUtil.makeDdimSamplingParameters(ac32, uniform, eta);
            String k = "eta" + eta + ".";
            check.check(k + "sigmas", m.create(p.sigmas()));
            check.check(k + "alphas", m.create(p.alphas()));
            check.check(k + "alphas_prev", m.create(p.alphasPrev()));
        }
    }
}
