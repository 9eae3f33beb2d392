package io.github.sgm4j.golden.runners;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.GoldenCase;
import io.github.sgm4j.golden.GoldenRunner;
import io.github.sgm4j.ldm.DDIMSampler;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.ldm.LdmSampler;
import io.github.sgm4j.ldm.SampleOptions;
import io.github.sgm4j.ldm.SampleResult;
import io.github.sgm4j.ldm.SamplingModel;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Case families {@code ldm_ddim_sample} and {@code ldm_plms_sample}: the ldm DDPM of {@code
 * config.model} provides the schedule, {@code apply_model} is the analytic eps-predictor of
 * case.json, the sampler of {@code config.sampler} (built through the Instantiator) runs every entry
 * of {@code config.sample_calls}; schedule arrays, samples, intermediates, every model call and every
 * draw are compared.
 */
public class LdmSamplerRunner implements GoldenRunner {

    @Override
    public boolean handles(String caseName) {
        return caseName.startsWith("ldm_ddim_sample") || caseName.startsWith("ldm_plms_sample");
    }

    /** One traced apply_model call. */
    record Call(NDArray x, NDArray t, NDArray c, NDArray et) {}

    /**
     * The case's analytic eps model over the DDPM's float32 schedule: {@code a = alphas_cumprod[t]},
     * {@code sig = sqrt((1 - a) / a)}, {@code xs = x / sqrt(a)}, {@code D = xs * (s2 / (s2 + sig^2))
     * + v * (sig / (s2 + sig^2))}, {@code eps = (xs - D) / sig}, float32 in that order.
     */
    static final class AnalyticEps implements SamplingModel {
        final DDPM ddpm;
        final float s2;
        final List<Call> trace = new ArrayList<>();

        AnalyticEps(DDPM ddpm, double s) {
            this.ddpm = ddpm;
            this.s2 = (float) (s * s);
        }

        @Override
        public int numTimesteps() {
            return ddpm.numTimesteps();
        }

        @Override
        public NDArray alphasCumprod() {
            return ddpm.alphasCumprod();
        }

        @Override
        public NDArray sqrtAlphasCumprod() {
            return ddpm.sqrtAlphasCumprod();
        }

        @Override
        public NDArray sqrtOneMinusAlphasCumprod() {
            return ddpm.sqrtOneMinusAlphasCumprod();
        }

        @Override
        public NDManager getManager() {
            return ddpm.getManager();
        }

        @Override
        public NDArray applyModel(NDArray x, NDArray t, NDArray c) {
            long n = x.getShape().get(0);
            long ch = x.getShape().get(1);
            NDArray a = alphasCumprod().take(t.getManager(), t).reshape(-1, 1, 1, 1);
            NDArray sig = F.sqrtExact(a.neg().add(1f).div(a));
            NDArray xs = x.div(F.sqrtExact(a));
            NDArray v = c.reshape(n, ch, 1, 1);
            NDArray den = sig.mul(sig).add(s2);
            // s2 / (...) is python-scalar / tensor: reciprocal * s2
            NDArray wa = den.onesLike().div(den).mul(s2);
            NDArray wb = sig.div(den);
            NDArray d = xs.mul(wa).add(v.mul(wb));
            NDArray eps = xs.sub(d).div(sig);
            Call call = new Call(x.duplicate(), t.duplicate(), c.duplicate(), eps.duplicate());
            NDScope.unregister(call.x(), call.t(), call.c(), call.et());
            trace.add(call);
            return eps;
        }
    }

    @Override
    public void run(GoldenCase g, Checker check) {
        DDPM ddpm = new Instantiator().instantiate(g.config("model"), DDPM.class);
        ddpm.attach(g.manager());
        if (!g.weights().isEmpty()) {
            ddpm.loadStateDict(g.weights(), false);
        }
        for (String k : g.outputKeys()) {
            if (k.startsWith("model.")) {
                check.check(k, ddpm.scheduleBuffer(k.substring("model.".length())));
            }
        }
        double s = g.extra("analytic_eps_s").getAsDouble();
        ReplayNoiseSource noise = g.noise();
        for (JsonElement callEl : g.json().getAsJsonObject("config").getAsJsonArray("sample_calls")) {
            JsonObject call = callEl.getAsJsonObject();
            String run = call.get("run").getAsString() + ".";
            AnalyticEps model = new AnalyticEps(ddpm, s);
            LdmSampler sampler = new Instantiator().with("model", model).instantiate(g.config("sampler"), LdmSampler.class);
            SampleOptions opts = SampleOptions.defaults()
                    .eta(call.get("eta").getAsDouble())
                    .logEveryT(call.get("log_every_t").getAsInt())
                    .guidance(call.get("unconditional_guidance_scale").getAsDouble(), tensor(g, call, "unconditional_conditioning"));
            if (call.has("x_T")) {
                opts.xT(tensor(g, call, "x_T"));
            }
            if (call.has("mask")) {
                opts.inpaint(tensor(g, call, "mask"), tensor(g, call, "x0"));
            }
            JsonElement shapeEl = call.get("shape");
            long[] shape = new long[shapeEl.getAsJsonArray().size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeEl.getAsJsonArray().get(i).getAsLong();
            }
            SampleResult r = sampler.sample(call.get("S").getAsInt(), call.get("batch_size").getAsInt(), new Shape(shape),
                    tensor(g, call, "conditioning"), opts, noise);
            DDIMSampler.Schedule sch = ((DDIMSampler) sampler).getSchedule();
            NDManager m = g.manager();
            check.check(run + "ddim_timesteps", m.create(sch.ddimTimesteps()));
            check.check(run + "ddim_sigmas", m.create(sch.ddimSigmas()));
            check.check(run + "ddim_alphas", m.create(sch.ddimAlphas()));
            check.check(run + "ddim_alphas_prev", m.create(sch.ddimAlphasPrev()));
            check.check(run + "ddim_sqrt_one_minus_alphas", m.create(sch.ddimSqrtOneMinusAlphas()));
            check.check(run + "samples", r.samples());
            expectCount(check, g, run + "x_inter.", r.xInter().size());
            expectCount(check, g, run + "pred_x0.", r.predX0().size());
            for (int i = 0; i < r.xInter().size(); i++) {
                check.check(run + "x_inter." + i, r.xInter().get(i));
                check.check(run + "pred_x0." + i, r.predX0().get(i));
            }
            expectCount(check, g, run + "trace.", model.trace.size());
            for (int j = 0; j < model.trace.size(); j++) {
                Call c = model.trace.get(j);
                String p = run + "trace." + j + ".";
                check.check(p + "x", c.x());
                check.check(p + "t", c.t());
                check.check(p + "c", c.c());
                check.check(p + "e_t", c.et());
            }
        }
        noise.assertExhausted();
    }

    private static NDArray tensor(GoldenCase g, JsonObject call, String key) {
        JsonElement e = call.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        return g.tensor(e.getAsString());
    }

    /** The case must record exactly {@code n} entries under {@code prefix} (lists / call counts). */
    private static void expectCount(Checker check, GoldenCase g, String prefix, int n) {
        java.util.Set<String> idx = new java.util.TreeSet<>();
        for (String k : g.outputKeys()) {
            if (k.startsWith(prefix)) {
                idx.add(k.substring(prefix.length()).split("\\.")[0]);
            }
        }
        if (idx.size() != n) {
            check.fail(prefix + "*: the reference recorded " + idx.size() + " entries, sgm4j produced " + n);
        }
    }

}
