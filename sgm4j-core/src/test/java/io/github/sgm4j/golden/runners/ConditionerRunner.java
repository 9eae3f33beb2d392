package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonObject;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cases {@code conditioner_*}: {@code out = cond(batch)}; when recorded, {@code c, uc =
 * get_unconditional_conditioning(batch, force_uc_zero_embeddings=...)} and {@code out_fz =
 * cond(batch, force_zero_embeddings=...)}. The force lists come from {@code params} when present,
 * else from the call written in the case description.
 */
public class ConditionerRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("conditioner_");
    }

    static List<String> forceList(GoldenCase g, String name) {
        if (g.hasParam(name)) {
            List<String> out = new ArrayList<>();
            g.param(name).getAsJsonArray().forEach(e -> out.add(e.getAsString()));
            return out;
        }
        String desc = g.json().get("description").getAsString();
        Matcher mm = Pattern.compile("[(,\\s]" + name + "=\\[([^\\]]*)\\]").matcher(desc);
        List<String> out = new ArrayList<>();
        if (mm.find()) {
            for (String p : mm.group(1).split(",")) {
                String t = p.trim().replace("'", "").replace("\"", "");
                if (!t.isEmpty()) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    static void checkDict(Checker check, GoldenCase g, String prefix, Map<String, NDArray> d) {
        for (String key : g.outputKeys()) {
            if (key.startsWith(prefix + ".")) {
                NDArray v = d.get(key.substring(prefix.length() + 1));
                if (v == null) {
                    check.fail(key + ": missing from the conditioner output " + d.keySet());
                } else {
                    check.check(key, v);
                }
            }
        }
        for (String k : d.keySet()) {
            if (!g.hasOutput(prefix + "." + k)) {
                check.fail(prefix + ": unexpected output key '" + k + "'");
            }
        }
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        JsonObject cfg = g.json().getAsJsonObject("config");
        GeneralConditioner cond = new io.github.sgm4j.config.Instantiator().instantiate(g.config(), GeneralConditioner.class);
        cond.attach(g.manager());
        cond.loadStateDict(g.weights(), true);
        ReplayNoiseSource noise = g.noise();
        Map<String, NDArray> batch = new LinkedHashMap<>();
        for (String k : g.inputKeys("batch.")) {
            batch.put(k.substring("batch.".length()), g.input(k));
        }
        checkDict(check, g, "out", cond.forward(batch, noise));
        boolean hasUc = g.outputKeys().stream().anyMatch(k -> k.startsWith("uc."));
        if (hasUc) {
            GeneralConditioner.CondPair p = cond.getUnconditionalConditioning(batch, null,
                    forceList(g, "force_uc_zero_embeddings"), forceList(g, "force_cond_zero_embeddings"));
            checkDict(check, g, "c", p.c());
            checkDict(check, g, "uc", p.uc());
        }
        boolean hasFz = g.outputKeys().stream().anyMatch(k -> k.startsWith("out_fz."));
        if (hasFz) {
            checkDict(check, g, "out_fz", cond.forward(batch, forceList(g, "force_zero_embeddings"), noise));
        }
        noise.assertExhausted();
    }
}
