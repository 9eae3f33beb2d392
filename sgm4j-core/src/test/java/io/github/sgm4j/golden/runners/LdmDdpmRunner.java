package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.Map;

/**
 * Case family {@code ldm_ddpm}: for each named config (eps, x0) an ldm {@code DDPM} built through
 * the Instantiator, weights loaded strictly (UNet + persistent schedule buffers, which are checked
 * against the recomputed schedule on load); every schedule buffer, q_sample (given and drawn
 * noise), q_mean_variance, predict_start_from_noise, q_posterior, p_mean_variance, p_losses,
 * forward and p_sample, all drawing from one replayed noise stream.
 */
public class LdmDdpmRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("ldm_ddpm");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        ReplayNoiseSource noise = g.noise();
        NDArray x0 = g.input("x0");
        NDArray xT = g.input("x_t");
        NDArray eps = g.input("eps");
        NDArray t = g.input("t");
        for (String par : g.config().keys()) {
            DDPM m = new Instantiator().instantiate(g.config(par), DDPM.class);
            m.attach(g.manager());
            m.loadStateDict(g.weights(), true);
            m.eval();
            String p = par + ".";
            for (String k : g.outputKeys()) {
                if (k.startsWith(p + "buf.")) {
                    check.check(k, m.scheduleBuffer(k.substring((p + "buf.").length())));
                }
            }
            check.check(p + "logvar", m.logvar(g.manager()));
            check.check(p + "q_sample_given_noise", m.qSample(x0, t, eps));
            check.check(p + "q_sample", m.qSample(x0, t, noise));
            DDPM.MeanVariance q = m.qMeanVariance(x0, t);
            check.check(p + "q_mean_variance.mean", q.mean());
            check.check(p + "q_mean_variance.variance", q.variance());
            check.check(p + "q_mean_variance.log_variance", q.logVariance());
            check.check(p + "predict_start_from_noise", m.predictStartFromNoise(xT, t, eps));
            DDPM.MeanVariance post = m.qPosterior(x0, xT, t);
            check.check(p + "q_posterior.mean", post.mean());
            check.check(p + "q_posterior.variance", post.variance());
            check.check(p + "q_posterior.log_variance_clipped", post.logVariance());
            DDPM.MeanVariance pmv = m.pMeanVariance(xT, t, true);
            check.check(p + "p_mean_variance.mean", pmv.mean());
            check.check(p + "p_mean_variance.variance", pmv.variance());
            check.check(p + "p_mean_variance.log_variance", pmv.logVariance());
            checkLosses(check, p + "p_losses.", m.pLosses(x0, t, null, noise));
            checkLosses(check, p + "forward.", m.forward(x0, noise));
            check.check(p + "p_sample", m.pSample(xT, t, true, noise));
        }
        noise.assertExhausted();
    }

    static void checkLosses(Checker check, String prefix, DDPM.Losses l) {
        check.check(prefix + "loss", l.loss());
        for (Map.Entry<String, NDArray> e : l.lossDict().entrySet()) {
            check.check(prefix + e.getKey(), e.getValue());
        }
    }
}
