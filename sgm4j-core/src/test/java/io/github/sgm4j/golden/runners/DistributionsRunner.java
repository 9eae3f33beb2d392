package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.noise.ReplayNoiseSource;

/** Cases {@code distributions_*}: DiagonalGaussianDistribution and normal_kl. */
public class DistributionsRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("distributions_");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        ReplayNoiseSource noise = g.noise();
        DiagonalGaussianDistribution d = new DiagonalGaussianDistribution(g.input("parameters"));
        DiagonalGaussianDistribution o = new DiagonalGaussianDistribution(g.input("other_parameters"));
        check.check("mean", d.getMean());
        check.check("logvar", d.getLogvar());
        check.check("std", d.getStd());
        check.check("var", d.getVar());
        check.check("mode", d.mode());
        NDArray sample = d.sample(noise);
        check.check("sample", sample);
        check.check("kl", d.kl());
        check.check("kl_other", d.kl(o));
        check.check("nll", d.nll(g.input("x")));
        check.check("nll_dims23", d.nll(g.input("x"), new int[] {2, 3}));
        check.check("nll_sample", d.nll(sample));

        DiagonalGaussianDistribution det = new DiagonalGaussianDistribution(g.input("parameters"), true);
        check.check("det.std", det.getStd());
        check.check("det.var", det.getVar());
        check.check("det.sample", det.sample(noise));
        check.check("det.kl", det.kl());
        check.check("det.nll", det.nll(g.input("x")));

        NDArray m1 = g.input("normal_kl.mean1");
        NDArray l1 = g.input("normal_kl.logvar1");
        NDArray m2 = g.input("normal_kl.mean2");
        check.check("normal_kl", DiagonalGaussianDistribution.normalKl(m1, l1, m2, g.input("normal_kl.logvar2")));
        double scalar = g.extra("normal_kl_scalar_logvar2") != null
                ? g.extra("normal_kl_scalar_logvar2").getAsDouble()
                : g.param("scalar_logvar2").getAsDouble();
        check.check("normal_kl_scalar", DiagonalGaussianDistribution.normalKl(m1, l1, m2, scalar));
        noise.assertExhausted();
    }
}
