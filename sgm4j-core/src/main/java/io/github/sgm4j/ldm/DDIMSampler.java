package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of {@code ldm.models.diffusion.ddim.DDIMSampler} (Song et al. 2020, DDIM): a subsequence of
 * the DDPM timesteps ({@code make_ddim_timesteps}), {@code eta}-controlled stochasticity,
 * classifier-free guidance (unconditional batch first), {@code x_T}, mask/x0 inpainting and
 * intermediates. The reference moves its buffers to CUDA; sgm4j works on the model's device.
 *
 * <p>Per-step coefficients are float32 like the reference's {@code torch.full((b,1,1,1), v)} of its
 * float32 / float64 schedule entries; every step draws {@code randn(x.shape)} (also with eta 0).
 */
public class DDIMSampler implements LdmSampler {

    /** The schedule {@code make_schedule} selected (plain arrays, no tensors). */
    public record Schedule(long[] ddimTimesteps, double[] ddimSigmas, float[] ddimAlphas, double[] ddimAlphasPrev,
            float[] ddimSqrtOneMinusAlphas) {}

    protected final SamplingModel model;
    private final String schedule;
    protected Schedule current;

    /** {@code DDIMSampler(model, schedule="linear")}. */
    public DDIMSampler(SamplingModel model, String schedule) {
        this.model = model;
        this.schedule = schedule;
    }

    /** {@code DDIMSampler(model)}. */
    public DDIMSampler(SamplingModel model) {
        this(model, "linear");
    }

    /**
     * Builds from {@code ldm.models.diffusion.ddim.DDIMSampler} params ({@code schedule}); the model
     * comes from the instantiator context key {@code "model"} (a {@link SamplingModel}).
     */
    public static DDIMSampler fromConfig(ConfigNode p, Instantiator inst) {
        SamplingModel m = inst.requireContext("model", SamplingModel.class, p.path());
        return new DDIMSampler(m, p.getString("schedule", "linear"));
    }

    /** The model. */
    public SamplingModel getModel() {
        return model;
    }

    /** The {@code schedule} argument (informational, as in the reference). */
    public String getScheduleName() {
        return schedule;
    }

    /** The schedule of the last {@link #makeSchedule} call, or null. */
    public Schedule getSchedule() {
        return current;
    }

    /**
     * {@code make_schedule(ddim_num_steps, ddim_discretize, ddim_eta)}.
     *
     * @throws IllegalArgumentException when {@code ddim_num_steps} exceeds the model's timesteps or
     *     the method is unknown
     */
    public Schedule makeSchedule(int ddimNumSteps, String ddimDiscretize, double ddimEta) {
        long[] ts = LdmUtil.makeDdimTimesteps(ddimDiscretize, ddimNumSteps, model.numTimesteps());
        float[] alphacums = model.alphasCumprod().toFloatArray();
        if (alphacums.length != model.numTimesteps()) {
            throw new IllegalStateException("alphas have to be defined for each timestep");
        }
        for (long t : ts) {
            if (t >= alphacums.length) {
                throw new IllegalArgumentException("ddim_num_steps " + ddimNumSteps + " with " + ddimDiscretize
                        + " discretization selects timestep " + t + " outside the model's " + alphacums.length
                        + " timesteps");
            }
        }
        LdmUtil.DdimParameters p = LdmUtil.makeDdimSamplingParameters(alphacums, ts, ddimEta);
        float[] sq = new float[p.alphas().length];
        for (int i = 0; i < sq.length; i++) {
            // np.sqrt(1. - ddim_alphas) on a float32 tensor: float32 arithmetic, correctly rounded sqrt
            sq[i] = (float) Math.sqrt(1f - p.alphas()[i]);
        }
        current = new Schedule(ts, p.sigmas(), p.alphas(), p.alphasPrev(), sq);
        return current;
    }

    @Override
    public SampleResult sample(int steps, int batchSize, Shape shape, NDArray conditioning, SampleOptions options,
            NoiseSource noise) {
        if (shape.dimension() != 3) {
            throw new IllegalArgumentException("shape must be (C, H, W), got " + shape);
        }
        checkEta(options.eta());
        makeSchedule(steps, options.ddimDiscretize(), options.eta());
        Shape size = new Shape(batchSize, shape.get(0), shape.get(1), shape.get(2));
        return run(conditioning, size, options, noise);
    }

    /** PLMS refuses eta != 0; DDIM accepts any eta >= 0. */
    protected void checkEta(double eta) {}

    /** {@code ddim_sampling(cond, shape, ...)} over the current schedule. */
    protected SampleResult run(NDArray cond, Shape size, SampleOptions options, NoiseSource noise) {
        NDManager manager = model.getManager();
        NDArray img = options.xT() != null ? options.xT() : noise.randn(manager, size);
        if (!img.getShape().equals(size)) {
            throw new IllegalArgumentException("x_T shape " + img.getShape() + " differs from the sample shape " + size);
        }
        LdmUtil.checkMask(options.mask(), options.x0(), size);
        NDArray uc = options.unconditionalConditioning();
        if (uc != null && cond != null && !uc.getShape().equals(cond.getShape())) {
            throw new IllegalArgumentException("unconditional_conditioning shape " + uc.getShape()
                    + " differs from the conditioning shape " + cond.getShape());
        }
        int logEveryT = options.logEveryTOr(100);
        long[] ts = current.ddimTimesteps();
        int total = ts.length;
        List<NDArray> xInter = new ArrayList<>();
        List<NDArray> predX0s = new ArrayList<>();
        xInter.add(img);
        predX0s.add(img);
        NDArray xT = img;
        boolean kept = true;
        StepState state = newState();
        try {
            for (int i = 0; i < total; i++) {
                int index = total - i - 1;
                long step = ts[index];
                long nextStep = ts[Math.max(total - (i + 1) - 1, 0)];
                NDArray xPrev;
                NDArray predX0;
                try (NDScope scope = new NDScope()) {
                    NDArray t = LdmUtil.fullLong(img.getManager(), size.get(0), step);
                    NDArray x = img;
                    if (options.mask() != null) {
                        x = LdmUtil.blend(model, options.x0(), t, options.mask(), img, noise);
                    }
                    NDArray tNext = LdmUtil.fullLong(img.getManager(), size.get(0), nextStep);
                    NDArray[] out = step(x, cond, t, tNext, index, options, state, noise);
                    xPrev = out[0];
                    predX0 = out[1];
                    NDScope.unregister(xPrev, predX0);
                    state.keep();
                }
                if (img != xT && !kept) {
                    img.close();
                }
                img = xPrev;
                if (options.callback() != null) {
                    options.callback().onStep(i, total, img, predX0);
                }
                kept = index % logEveryT == 0 || index == total - 1;
                if (kept) {
                    xInter.add(img);
                    predX0s.add(predX0);
                } else {
                    predX0.close();
                }
            }
        } finally {
            state.close();
        }
        return new SampleResult(img, xInter, predX0s);
    }

    /** Per-run state of a sampler (PLMS keeps its old eps here). */
    protected interface StepState extends AutoCloseable {
        /** Unregisters the arrays that must survive the step's scope. */
        void keep();

        @Override
        void close();
    }

    /** DDIM keeps nothing between steps. */
    protected StepState newState() {
        return new StepState() {
            @Override
            public void keep() {}

            @Override
            public void close() {}
        };
    }

    /** One {@code p_sample_ddim} step: returns {x_prev, pred_x0}. */
    protected NDArray[] step(NDArray x, NDArray c, NDArray t, NDArray tNext, int index, SampleOptions options,
            StepState state, NoiseSource noise) {
        NDArray et = modelOutput(x, c, t, options);
        return xPrevAndPredX0(x, et, index, noise);
    }

    /**
     * The model's eps with classifier-free guidance: one call on {@code (x, t, c)} when there is no
     * unconditional conditioning or the scale is 1, otherwise one call on {@code cat([x]*2)},
     * {@code cat([t]*2)}, {@code cat([uc, c])} and {@code e_u + scale * (e_c - e_u)}.
     */
    protected NDArray modelOutput(NDArray x, NDArray c, NDArray t, SampleOptions options) {
        NDArray uc = options.unconditionalConditioning();
        double scale = options.unconditionalGuidanceScale();
        if (uc == null || scale == 1.0) {
            return model.applyModel(x, t, c);
        }
        NDArray xIn = NDArrays.concat(new NDList(x, x), 0);
        NDArray tIn = NDArrays.concat(new NDList(t, t), 0);
        NDArray cIn = NDArrays.concat(new NDList(uc, c), 0);
        NDArray out = model.applyModel(xIn, tIn, cIn);
        NDList halves = out.split(2, 0);
        NDArray eUncond = halves.get(0);
        NDArray eCond = halves.get(1);
        // e_t = e_t_uncond + scale * (e_t - e_t_uncond)
        return eUncond.add(F.mul(eCond.sub(eUncond), (float) scale));
    }

    /**
     * {@code get_x_prev_and_pred_x0(e_t, index)}: {@code pred_x0 = (x - sqrt(1 - a_t) e_t) /
     * sqrt(a_t)}, {@code dir_xt = sqrt(1 - a_prev - sigma_t^2) e_t}, {@code x_prev = sqrt(a_prev)
     * pred_x0 + dir_xt + sigma_t randn(x.shape)}; all coefficients float32.
     */
    protected NDArray[] xPrevAndPredX0(NDArray x, NDArray et, int index, NoiseSource noise) {
        float aT = current.ddimAlphas()[index];
        float aPrev = (float) current.ddimAlphasPrev()[index];
        float sigmaT = (float) current.ddimSigmas()[index];
        float sqrtOneMinusAt = current.ddimSqrtOneMinusAlphas()[index];
        float sqrtAt = (float) Math.sqrt(aT);
        float dirCoef = (float) Math.sqrt((1f - aPrev) - sigmaT * sigmaT);
        float sqrtAPrev = (float) Math.sqrt(aPrev);
        NDArray predX0 = F.div(x.sub(F.mul(et, sqrtOneMinusAt)), sqrtAt);
        NDArray dirXt = F.mul(et, dirCoef);
        NDArray n = noise.randn(x.getManager(), x.getShape());
        // sigma_t * noise_like(...) * temperature (temperature 1)
        NDArray scaledNoise = F.mul(n, sigmaT);
        NDArray xPrev = F.mul(predX0, sqrtAPrev).add(dirXt).add(scaledNoise);
        return new NDArray[] {xPrev, predX0};
    }
}
