package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.ldm.DDIMSampler;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.ldm.PLMSSampler;
import io.github.sgm4j.ldm.SampleOptions;
import io.github.sgm4j.ldm.SampleResult;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/** {@code sample} for ldm configs ({@code ldm.models.diffusion.ddpm.DDPM} / {@code LatentDiffusion}). */
final class LdmSampling {

    private LdmSampling() {}

    static boolean isLdm(ConfigNode root) {
        ConfigNode model = EngineLoader.modelNode(root);
        String t = model.has("target") ? String.valueOf(model.asMap().get("target")) : "";
        return t.startsWith("ldm.models.diffusion.ddpm.") || t.startsWith("io.github.sgm4j.ldm.");
    }

    /**
     * Samples {@code n} images with DDIM, PLMS or the full DDPM loop; decodes through the first
     * stage of a LatentDiffusion. Class-conditional models take {@code labels} ({@code
     * cond_stage_key: class_label}); guidance uses {@code ucClass} as the unconditional class.
     */
    static NDArray sample(ConfigNode root, Path ckpt, String sampler, int steps, double eta, List<Integer> labels,
            Integer ucClass, double scale, int n, long seed, NDManager m, IntConsumer progress) {
        DDPM model = new Instantiator().instantiate(EngineLoader.modelNode(root), DDPM.class);
        model.initialize(m, new TorchNoiseSource(seed));
        try (NDScope ignored = new NDScope()) {
            Map<String, ai.djl.ndarray.NDArray> sd = StateDicts.readAll(ckpt, m);
            String bad = io.github.sgm4j.train.Checkpoints.firstNonFinite(sd);
            if (bad != null) {
                throw new IllegalArgumentException("checkpoint " + ckpt + ": tensor '" + bad + "' holds NaN or infinite values");
            }
            LoadResult r = model.loadStateDict(sd, false);
            if (!r.missingKeys().isEmpty()) {
                System.err.println("checkpoint " + ckpt + ": " + r.describe());
            }
        }
        model.eval();
        NDArray c = null;
        NDArray uc = null;
        if (model instanceof LatentDiffusion ld && labels != null) {
            String key = ld.getLatentParams().condStageKey();
            c = ld.getLearnedConditioning(Map.of(key, Tensors.create(m, labels.stream().mapToLong(Integer::longValue).toArray())));
            if (ucClass != null) {
                long[] u = new long[labels.size()];
                java.util.Arrays.fill(u, ucClass);
                uc = ld.getLearnedConditioning(Map.of(key, Tensors.create(m, u)));
            }
        } else if (labels != null) {
            throw new IllegalArgumentException("--classes given, but the config's model is not class-conditional");
        }
        int ch = model.getParams().channels();
        int size = model.getParams().imageSize();
        SampleOptions o = SampleOptions.defaults().eta(eta);
        if (uc != null) {
            o = o.guidance(scale, uc);
        }
        if (progress != null) {
            o = o.callback((i, total, img, x0) -> progress.accept(i + 1));
        }
        TorchNoiseSource noise = new TorchNoiseSource(seed);
        SampleResult res = switch (sampler) {
            case "ddim" -> new DDIMSampler(model).sample(steps, n, new Shape(ch, size, size), c, o, noise);
            case "plms" -> new PLMSSampler(model).sample(steps, n, new Shape(ch, size, size), c, o, noise);
            case "ddpm" -> model.pSampleLoop(new Shape(n, ch, size, size), c, o, noise);
            default -> throw new IllegalArgumentException("--sampler must be ddim, plms or ddpm, got " + sampler);
        };
        return model instanceof LatentDiffusion ld ? ld.decodeFirstStage(res.samples()) : res.samples();
    }
}
