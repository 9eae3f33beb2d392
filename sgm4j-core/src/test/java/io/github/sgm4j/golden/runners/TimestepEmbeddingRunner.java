package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.diffusionmodules.model.ModelUtil;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.Timestep;
import io.github.sgm4j.modules.diffusionmodules.util.DiffusionUtil;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Case {@code timestep_embedding}: the output keys encode the call, e.g. {@code
 * te.float.dim33.mp1000}, {@code te.int.dim32.repeat_only}, {@code Timestep.dim32}, {@code
 * get_timestep_embedding.int.dim33}.
 */
public class TimestepEmbeddingRunner implements GoldenRunner {

    private static final Pattern TE = Pattern.compile("te\\.(float|int)\\.dim(\\d+)(?:\\.mp(\\d+))?(\\.repeat_only)?");
    private static final Pattern TIMESTEP = Pattern.compile("Timestep\\.dim(\\d+)");
    private static final Pattern GET_TE = Pattern.compile("get_timestep_embedding\\.(float|int)\\.dim(\\d+)");

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("timestep_embedding");
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        for (String key : g.outputKeys()) {
            Matcher m;
            if ((m = TE.matcher(key)).matches()) {
                NDArray t = g.input("t_" + m.group(1));
                int dim = Integer.parseInt(m.group(2));
                double maxPeriod = m.group(3) == null ? 10000 : Double.parseDouble(m.group(3));
                boolean repeatOnly = m.group(4) != null;
                check.check(key, DiffusionUtil.timestepEmbedding(t, dim, maxPeriod, repeatOnly));
            } else if ((m = TIMESTEP.matcher(key)).matches()) {
                check.check(key, new Timestep(Integer.parseInt(m.group(1))).forward(g.input("t_float")));
            } else if ((m = GET_TE.matcher(key)).matches()) {
                NDArray t = g.input("t_" + m.group(1));
                check.check(key, ModelUtil.getTimestepEmbedding(t, Integer.parseInt(m.group(2))));
            } else {
                check.fail("unrecognised output key " + key);
            }
        }
    }
}
