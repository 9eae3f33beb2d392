package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.modules.EmaScope;
import io.github.sgm4j.modules.LitEma;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseScope;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import io.github.sgm4j.optim.LrScheduler;
import io.github.sgm4j.optim.TrainingStep;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port of {@code ldm.models.diffusion.ddpm.DDPM}: classic DDPM with Gaussian diffusion in image
 * space, over a {@link DiffusionWrapper}ed UNet ({@code model.diffusion_model.*}).
 *
 * <p>{@code register_schedule} computes the schedule in float64 (numpy) and keeps it as float32
 * buffers under the checkpoint's names ({@code betas}, {@code alphas_cumprod}, ..., {@code
 * posterior_mean_coef2}; {@code lvlb_weights} non-persistent). When a checkpoint carries these
 * buffers, {@link #loadStateDict} compares them with the recomputed ones and refuses a mismatch
 * ({@link ScheduleMismatchException}) unless {@link #setAcceptCheckpointSchedule} is set.
 *
 * <p>Size: the schedule math ({@code DdpmSchedule}), config parsing ({@code DdpmConfig}), sampling
 * loop ({@code DdpmSampling}) and losses ({@code DdpmTraining}) live in their own classes; what is
 * left is the Module facade: the state (buffers, EMA, step counter), the public methods
 * {@code LatentDiffusion} and the samplers call, each with its Javadoc, the nested result types of
 * its API and the checkpoint loading.
 */
public class DDPM extends Module implements SamplingModel {

    private static final Logger LOG = LoggerFactory.getLogger(DDPM.class);

    /** The persistent schedule buffers in registration order. */
    public static final List<String> SCHEDULE_BUFFERS = List.of("betas", "alphas_cumprod", "alphas_cumprod_prev",
            "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
            "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
            "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2");

    /**
     * Constructor arguments with ldm's defaults.
     *
     * @param timesteps number of diffusion steps T (1000)
     * @param betaSchedule linear, cosine, sqrt_linear or sqrt (linear)
     * @param lossType l1 or l2 (l2)
     * @param useEma keep an EMA of the network (true)
     * @param firstStageKey batch key of the images (image)
     * @param imageSize sample size (256)
     * @param channels sample channels (3)
     * @param logEveryT intermediate logging interval of the DDPM loop (100)
     * @param clipDenoised clamp x0 to [-1, 1] in {@code p_mean_variance} (true)
     * @param linearStart schedule start (1e-4)
     * @param linearEnd schedule end (2e-2)
     * @param cosineS cosine offset (8e-3)
     * @param givenBetas explicit betas, or null
     * @param originalElboWeight weight of the VLB term (0)
     * @param vPosterior posterior variance mix (0)
     * @param lSimpleWeight weight of the simple loss (1)
     * @param conditioningKey null, concat, crossattn, hybrid or adm
     * @param parameterization eps or x0 (eps)
     * @param learnLogvar whether {@code logvar} is a trained parameter (false)
     * @param logvarInit the initial {@code logvar} (0)
     * @param ckptPath checkpoint loaded by {@link #initialize}, or null
     * @param ignoreKeys key prefixes dropped from that checkpoint
     * @param loadOnlyUnet load the checkpoint into {@code model} only
     * @see DdpmConfig
     */
    public record Params(int timesteps, String betaSchedule, String lossType, boolean useEma, String firstStageKey,
            int imageSize, int channels, int logEveryT, boolean clipDenoised, double linearStart, double linearEnd,
            double cosineS, List<Double> givenBetas, double originalElboWeight, double vPosterior,
            double lSimpleWeight, String conditioningKey, String parameterization, boolean learnLogvar,
            double logvarInit, String ckptPath, List<String> ignoreKeys, boolean loadOnlyUnet) {

        /**
         * ldm's defaults ({@code DDPM.__init__} keyword defaults).
         *
         * @return the default parameters
         */
        public static Params defaults() {
            return new Params(1000, "linear", "l2", true, "image", 256, 3, 100, true, 1e-4, 2e-2, 8e-3, null, 0.,
                    0., 1., null, "eps", false, 0., null, List.of(), false);
        }

        /**
         * Validates the enumerations.
         *
         * @param timesteps number of diffusion steps T
         * @param betaSchedule linear, cosine, sqrt_linear or sqrt
         * @param lossType l1 or l2
         * @param useEma keep an EMA of the network
         * @param firstStageKey batch key of the images
         * @param imageSize sample size
         * @param channels sample channels
         * @param logEveryT intermediate logging interval of the DDPM loop (&gt;= 1)
         * @param clipDenoised clamp x0 to [-1, 1] in {@code p_mean_variance}
         * @param linearStart schedule start
         * @param linearEnd schedule end
         * @param cosineS cosine offset
         * @param givenBetas explicit betas, or null
         * @param originalElboWeight weight of the VLB term
         * @param vPosterior posterior variance mix
         * @param lSimpleWeight weight of the simple loss
         * @param conditioningKey null, concat, crossattn, hybrid or adm
         * @param parameterization eps or x0
         * @param learnLogvar whether {@code logvar} is a trained parameter
         * @param logvarInit the initial {@code logvar}
         * @param ckptPath checkpoint loaded by {@link DDPM#initialize}, or null
         * @param ignoreKeys key prefixes dropped from that checkpoint
         * @param loadOnlyUnet load the checkpoint into {@code model} only
         * @throws IllegalArgumentException when {@code parameterization} is not eps/x0, {@code lossType} not
         *     l1/l2, or {@code logEveryT} &lt; 1
         */
        public Params {
            if (!"eps".equals(parameterization) && !"x0".equals(parameterization)) {
                throw new IllegalArgumentException(
                        "parameterization: currently only supporting \"eps\" and \"x0\", got \"" + parameterization + "\"");
            }
            if (!"l1".equals(lossType) && !"l2".equals(lossType)) {
                throw new IllegalArgumentException("loss_type: unknown loss type '" + lossType + "' (l1, l2)");
            }
            if (logEveryT < 1) {
                throw new IllegalArgumentException("log_every_t must be >= 1, got " + logEveryT);
            }
        }
    }

    /**
     * A checkpoint's schedule buffer differs from the one recomputed from the config; thrown by
     * {@link DDPM#loadStateDict} unless {@link DDPM#setAcceptCheckpointSchedule} is set.
     */
    public static final class ScheduleMismatchException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        ScheduleMismatchException(String message) {
            super(message);
        }
    }

    /**
     * Mean, variance and log-variance of a Gaussian (ldm's {@code (mean, variance, log_variance)}
     * tuples); the record owns the three arrays, closing it closes them.
     *
     * @param mean the mean, [B, C, H, W]
     * @param variance the variance, broadcastable to the mean ([B, 1, 1, 1] from the schedule)
     * @param logVariance the log-variance, same shape as {@code variance}
     */
    public record MeanVariance(NDArray mean, NDArray variance, NDArray logVariance) implements AutoCloseable {
        @Override
        public void close() {
            mean.close();
            variance.close();
            logVariance.close();
        }
    }

    /**
     * A loss and ldm's {@code loss_dict} ({@code train/...} or {@code val/...} keys). The arrays are in
     * the manager of the inputs; the caller closes them (or an enclosing {@link NDScope} does).
     *
     * @param loss the scalar loss to backpropagate
     * @param lossDict scalar log entries ({@code &lt;prefix&gt;/loss_simple}, {@code &lt;prefix&gt;/loss_vlb},
     *     {@code &lt;prefix&gt;/loss}, ...)
     */
    public record Losses(NDArray loss, Map<String, NDArray> lossDict) {}

    /** The scalar parameters this model was built with ({@code self.*} of {@code DDPM.__init__}). */
    protected final Params params;
    private final DiffusionWrapper model;
    private final LitEma modelEma;
    private final LrScheduler scheduler;
    private final int numTimesteps;
    private final Map<String, float[]> schedule;
    private final Map<String, Parameter> scheduleBuffers = new LinkedHashMap<>();
    private final Parameter logvar;
    private boolean clipDenoised;
    private boolean acceptCheckpointSchedule;
    private long globalStep;

    /**
     * Builds the model.
     *
     * @param params scalar parameters
     * @param model the wrapped UNet
     * @param scheduler the learning-rate schedule ({@code scheduler_config}), or null
     * @throws IllegalArgumentException when {@code beta_schedule} is unknown
     */
    public DDPM(Params params, DiffusionWrapper model, LrScheduler scheduler) {
        this.params = params;
        this.model = register("model", model);
        this.modelEma = params.useEma() ? register("model_ema", new LitEma(model, 0.9999, true)) : null;
        this.scheduler = scheduler;
        this.clipDenoised = params.clipDenoised();
        double[] betas;
        if (params.givenBetas() != null) {
            betas = params.givenBetas().stream().mapToDouble(Double::doubleValue).toArray();
        } else {
            betas = LdmUtil.makeBetaSchedule(params.betaSchedule(), params.timesteps(), params.linearStart(),
                    params.linearEnd(), params.cosineS());
        }
        this.numTimesteps = betas.length;
        this.schedule = registerSchedule(betas, params.vPosterior(), params.parameterization());
        for (Map.Entry<String, float[]> e : schedule.entrySet()) {
            boolean persistent = !e.getKey().equals("lvlb_weights");
            scheduleBuffers.put(e.getKey(), buffer(e.getKey(), new Shape(numTimesteps), DataType.FLOAT32,
                    Init.values(e.getValue()), persistent));
        }
        float[] lv = new float[numTimesteps];
        java.util.Arrays.fill(lv, (float) params.logvarInit());
        this.logvar = params.learnLogvar()
                ? parameter("logvar", new Shape(numTimesteps), Init.values(lv))
                : null;
    }

    /**
     * Port of {@code register_schedule}: every buffer in float64, rounded to float32 like {@code
     * torch.tensor(x, dtype=float32)}; {@code lvlb_weights} computed from the float32 buffers as the
     * reference does ({@code [0]} overwritten by {@code [1]}).
     *
     * @param betas the betas, length T
     * @param vPosterior {@code v_posterior}: posterior variance mix
     * @param parameterization eps or x0 (selects the {@code lvlb_weights} formula)
     * @return the float32 schedule by buffer name ({@link #SCHEDULE_BUFFERS} then {@code lvlb_weights}),
     *     each of length T; a fresh map owned by the caller
     */
    public static Map<String, float[]> registerSchedule(double[] betas, double vPosterior, String parameterization) {
        return DdpmSchedule.register(betas, vPosterior, parameterization);
    }

    /**
     * Builds from {@code ldm.models.diffusion.ddpm.DDPM} params (the original YAML). The model is not
     * attached: call {@code initialize} or {@code attach} before use.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator for {@code unet_config} and {@code scheduler_config}
     * @return the model
     * @throws io.github.sgm4j.config.ConfigException when a value is invalid or unsupported
     */
    public static DDPM fromConfig(ConfigNode p, Instantiator inst) {
        Params params = readParams(p, null);
        DiffusionWrapper wrapper = buildWrapper(p, inst, params.conditioningKey());
        LrScheduler scheduler = readScheduler(p, inst);
        if (scheduler != null) {
            LOG.warn("{}: ldm's DDPM.configure_optimizers ignores scheduler_config (only LatentDiffusion applies it):"
                    + " DDPM trains at the constant learning rate, as the reference", p.pathOf("scheduler_config"));
        }
        return new DDPM(params, wrapper, scheduler);
    }

    /**
     * Reads the DDPM keys of {@code p}.
     *
     * @param p the {@code params} node
     * @param conditioningKeyOverride overrides {@code conditioning_key} when non-null
     * @return the parameters
     * @throws io.github.sgm4j.config.ConfigException when a value is invalid or unsupported
     */
    protected static Params readParams(ConfigNode p, String conditioningKeyOverride) {
        return DdpmConfig.readParams(p, conditioningKeyOverride);
    }

    /**
     * Builds the {@code DiffusionWrapper(unet_config, conditioning_key)}.
     *
     * @param p the {@code params} node (reads {@code unet_config})
     * @param inst the instantiator
     * @param conditioningKey the conditioning key, or null
     * @return the wrapped UNet
     * @throws io.github.sgm4j.config.ConfigException when the key is invalid
     */
    protected static DiffusionWrapper buildWrapper(ConfigNode p, Instantiator inst, String conditioningKey) {
        return DdpmConfig.buildWrapper(p, inst, conditioningKey);
    }

    /**
     * Builds {@code scheduler_config} when present.
     *
     * @param p the {@code params} node
     * @param inst the instantiator
     * @return the scheduler, or null without {@code scheduler_config}
     */
    protected static LrScheduler readScheduler(ConfigNode p, Instantiator inst) {
        return DdpmConfig.readScheduler(p, inst);
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The parameters.
     *
     * @return the scalar parameters
     */
    public Params getParams() {
        return params;
    }

    /**
     * The wrapped network ({@code self.model}).
     *
     * @return the {@code DiffusionWrapper} (owned by this module)
     */
    public DiffusionWrapper getModel() {
        return model;
    }

    /**
     * The EMA of the network ({@code self.model_ema}).
     *
     * @return the EMA, or null without {@code use_ema}
     */
    public LitEma getModelEma() {
        return modelEma;
    }

    /**
     * The learning-rate schedule of the config.
     *
     * @return the scheduler, or null without {@code scheduler_config}
     */
    public LrScheduler getScheduler() {
        return scheduler;
    }

    /**
     * Whether {@link #trainStep} applies {@code scheduler_config} ({@code use_scheduler}): ldm's
     * {@code LatentDiffusion.configure_optimizers} wraps AdamW in a {@code LambdaLR}; plain {@code
     * DDPM.configure_optimizers} ignores it (a warning is logged when the config has one).
     *
     * @return false here; LatentDiffusion returns true
     */
    protected boolean appliesScheduler() {
        return false;
    }

    /**
     * The number of training steps taken ({@code global_step}; the scheduler's step).
     *
     * @return the step counter
     */
    public long getGlobalStep() {
        return globalStep;
    }

    /**
     * Sets the step counter (when resuming).
     *
     * @param step the new {@code global_step}
     */
    public void setGlobalStep(long step) {
        this.globalStep = step;
    }

    /**
     * {@code parameterization}: what the network predicts.
     *
     * @return eps or x0
     */
    public String getParameterization() {
        return params.parameterization();
    }

    @Override
    public int numTimesteps() {
        return numTimesteps;
    }

    /**
     * The recomputed float32 schedule by buffer name.
     *
     * @return copies of the arrays of length T ({@link #SCHEDULE_BUFFERS} and {@code lvlb_weights})
     */
    public Map<String, float[]> getSchedule() {
        Map<String, float[]> out = new LinkedHashMap<>();
        schedule.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }

    /**
     * A schedule buffer's array by name.
     *
     * @param name {@code betas}, ..., {@code lvlb_weights}
     * @return the float32 [T] buffer itself (owned by this module's manager; do not close)
     * @throws IllegalArgumentException when there is no such buffer
     * @throws IllegalStateException when the buffer is not allocated yet (before {@code
     *     initialize}/{@code attach})
     */
    public NDArray scheduleBuffer(String name) {
        Parameter p = scheduleBuffers.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no schedule buffer '" + name + "' (have " + scheduleBuffers.keySet() + ")");
        }
        return p.getArray();
    }

    @Override
    public NDArray alphasCumprod() {
        return scheduleBuffer("alphas_cumprod");
    }

    @Override
    public NDArray sqrtAlphasCumprod() {
        return scheduleBuffer("sqrt_alphas_cumprod");
    }

    @Override
    public NDArray sqrtOneMinusAlphasCumprod() {
        return scheduleBuffer("sqrt_one_minus_alphas_cumprod");
    }

    /**
     * {@code self.logvar}, float32 [T].
     *
     * @param manager the manager of the new array
     * @return with {@code learn_logvar} the parameter's array itself (owned by the module; do not
     *     close), else a new array filled with {@code logvar_init} in {@code manager} (caller closes)
     */
    public NDArray logvar(NDManager manager) {
        if (logvar != null) {
            return logvar.getArray();
        }
        return manager.full(new Shape(numTimesteps), (float) params.logvarInit());
    }

    /**
     * {@code clip_denoised} (LatentDiffusion turns it off).
     *
     * @return whether {@link #pSampleLoop} clamps the predicted x0 to [-1, 1]
     */
    public boolean isClipDenoised() {
        return clipDenoised;
    }

    /**
     * Sets {@code clip_denoised}.
     *
     * @param clip whether the sampling loop clamps the predicted x0 to [-1, 1]
     */
    protected void setClipDenoised(boolean clip) {
        this.clipDenoised = clip;
    }

    /**
     * Accept a checkpoint's schedule buffers even when they differ from the recomputed schedule
     * (logged as a warning); the default refuses them.
     *
     * @param accept true to load differing schedule buffers instead of throwing {@link
     *     ScheduleMismatchException}
     */
    public void setAcceptCheckpointSchedule(boolean accept) {
        this.acceptCheckpointSchedule = accept;
    }

    // ------------------------------------------------------------------ lifecycle

    /** Binds the tree and fills the schedule buffers with the recomputed values. */
    @Override
    public void attach(NDManager manager) {
        super.attach(manager);
        for (Map.Entry<String, Parameter> e : scheduleBuffers.entrySet()) {
            if (!e.getValue().isInitialized()) {
                try (NDArray v = Tensors.create(manager, schedule.get(e.getKey()))) {
                    e.getValue().setArray(v, manager);
                }
            }
        }
    }

    /**
     * Loads {@code ckpt_path} when configured ({@code init_from_ckpt}), after the first and cond
     * stages loaded theirs ({@link #initialize} of the tree calls this).
     */
    @Override
    protected void loadPretrained() {
        if (params.ckptPath() != null) {
            initFromCkpt(Path.of(params.ckptPath()), params.ignoreKeys(), params.loadOnlyUnet());
        }
    }

    /**
     * {@code init_from_ckpt(path, ignore_keys, only_model)}: loads a state dict ({@code .safetensors},
     * or a PyTorch {@code .ckpt} / {@code .pth} read without executing code; Lightning's {@code
     * state_dict} entry is unwrapped) non-strictly (keys starting with an ignored prefix dropped) and logs missing/unexpected keys.
     * The read arrays live in a temporary {@link NDScope}; the weights are copied into the module.
     *
     * @param path the state-dict file ({@link StateDicts#open} chooses the format by content)
     * @param ignoreKeys key prefixes to drop
     * @param onlyModel load into {@code model} (the UNet wrapper) only
     * @return the missing and unexpected keys
     * @throws io.github.sgm4j.io.SafeTensorsFormatException when the file is neither a torch checkpoint
     *     nor valid safetensors
     * @throws io.github.sgm4j.io.TorchCheckpointFormatException when a torch checkpoint is malformed,
     *     in an unsupported layout (tar, bare pickle) or refused
     * @throws ScheduleMismatchException when a carried schedule buffer differs (unless accepted)
     */
    public LoadResult initFromCkpt(Path path, List<String> ignoreKeys, boolean onlyModel) {
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> sd = new LinkedHashMap<>(StateDicts.readAll(path, getManager()));
            sd.keySet().removeIf(k -> ignoreKeys.stream().anyMatch(k::startsWith));
            LoadResult r = onlyModel ? model.loadStateDict(sd, false) : loadStateDict(sd, false);
            LOG.info("Restored from {} with {} missing and {} unexpected keys", path, r.missingKeys().size(),
                    r.unexpectedKeys().size());
            return r;
        }
    }

    /**
     * {@code load_state_dict}, after comparing every schedule buffer the state dict carries with the
     * recomputed one (|a - b| &lt;= 1e-6 + 1e-5 |b|).
     *
     * @throws ScheduleMismatchException when a carried schedule differs (unless accepted)
     */
    @Override
    public LoadResult loadStateDict(Map<String, NDArray> stateDict, boolean strict) {
        for (String name : SCHEDULE_BUFFERS) {
            NDArray v = stateDict.get(name);
            if (v == null || v.getShape().size() != numTimesteps) {
                continue;
            }
            float[] got;
            try (NDArray f32 = v.toType(DataType.FLOAT32, true)) {
                got = f32.toFloatArray();
            }
            float[] want = schedule.get(name);
            for (int i = 0; i < want.length; i++) {
                if (!(Math.abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]))) {
                    String msg = "checkpoint buffer '" + name + "' differs from the schedule recomputed from the config"
                            + " (beta_schedule " + params.betaSchedule() + ", linear_start " + params.linearStart()
                            + ", linear_end " + params.linearEnd() + ", timesteps " + numTimesteps + "): at index " + i
                            + " checkpoint " + got[i] + " vs recomputed " + want[i];
                    if (!acceptCheckpointSchedule) {
                        throw new ScheduleMismatchException(msg
                                + "; fix the config or call setAcceptCheckpointSchedule(true) to use the checkpoint's");
                    }
                    LOG.warn("{}; using the checkpoint's values", msg);
                    break;
                }
            }
        }
        return super.loadStateDict(stateDict, strict);
    }

    // ------------------------------------------------------------------ diffusion math

    /**
     * {@code q_mean_variance(x_start, t)}: the distribution q(x_t | x_0).
     *
     * @param xStart x_0, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @return new arrays in the manager of {@code t}: mean [B, C, H, W], variance and log-variance
     *     [B, 1, 1, 1]; the caller closes the record
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public MeanVariance qMeanVariance(NDArray xStart, NDArray t) {
        return DdpmSchedule.qMeanVariance(this, xStart, t);
    }

    /**
     * {@code predict_start_from_noise(x_t, t, noise)}: {@code sqrt_recip_alphas_cumprod[t] * x_t -
     * sqrt_recipm1_alphas_cumprod[t] * noise}.
     *
     * @param xT x_t, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param noise the (predicted) noise, [B, C, H, W]
     * @return the predicted x_0 [B, C, H, W], a new array in the manager of {@code t}; the caller
     *     closes it
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public NDArray predictStartFromNoise(NDArray xT, NDArray t, NDArray noise) {
        return DdpmSchedule.predictStartFromNoise(this, xT, t, noise);
    }

    /**
     * {@code q_posterior(x_start, x_t, t)}: mean, variance and clipped log-variance of q(x_{t-1} | x_t,
     * x_0).
     *
     * @param xStart x_0, [B, C, H, W]
     * @param xT x_t, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @return new arrays in the manager of {@code t}: mean [B, C, H, W], variance and log-variance
     *     [B, 1, 1, 1]; the caller closes the record
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public MeanVariance qPosterior(NDArray xStart, NDArray xT, NDArray t) {
        return DdpmSchedule.qPosterior(this, xStart, xT, t);
    }

    /**
     * {@code apply_model(x, t, c)}: the wrapped network; {@code c} goes to {@code c_concat} for
     * {@code concat} and to {@code c_crossattn} otherwise (ignored without a conditioning key).
     */
    @Override
    public NDArray applyModel(NDArray x, NDArray t, NDArray c) {
        String key = model.getConditioningKey();
        if (key == null) {
            return model.forward(x, t, null, null);
        }
        if (c == null) {
            throw new IllegalArgumentException("apply_model: conditioning_key " + key + " needs a conditioning");
        }
        return "concat".equals(key) ? model.forward(x, t, List.of(c), null) : model.forward(x, t, null, List.of(c));
    }

    /**
     * {@code apply_model(x, t, cond)} with a dict conditioning (the {@code hybrid} case): {@code
     * c_concat} and {@code c_crossattn} lists passed to the wrapper as they are.
     *
     * @param x the noisy input, [B, C, H, W]
     * @param t the [B] int64 timesteps
     * @param cond {@code c_concat} and/or {@code c_crossattn} lists (absent keys pass null)
     * @return the network output [B, C_out, H, W], a new array the caller closes
     * @throws IllegalArgumentException when {@code cond} has another key
     */
    public NDArray applyModelDict(NDArray x, NDArray t, Map<String, List<NDArray>> cond) {
        for (String k : cond.keySet()) {
            if (!k.equals("c_concat") && !k.equals("c_crossattn")) {
                throw new IllegalArgumentException("apply_model: unknown conditioning key '" + k
                        + "' (c_concat, c_crossattn)");
            }
        }
        return model.forward(x, t, cond.get("c_concat"), cond.get("c_crossattn"));
    }

    /**
     * {@code p_mean_variance(x, t, clip_denoised)} of the model output: x0 from the output (eps:
     * {@code predict_start_from_noise}), clamped to [-1, 1] when asked, then {@code q_posterior}.
     *
     * @param x x_t, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param modelOut the network output for ({@code x}, {@code t}): eps or x0, [B, C, H, W]; not closed
     * @param clip clamp the predicted x0 to [-1, 1]
     * @return the posterior of the prediction and the predicted x0, new arrays the caller closes
     *     (close the record)
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public PMeanVariance pMeanVarianceFromOutput(NDArray x, NDArray t, NDArray modelOut, boolean clip) {
        NDArray xRecon = "eps".equals(params.parameterization())
                ? predictStartFromNoise(x, t, modelOut)
                : modelOut.duplicate();
        if (clip) {
            try (NDArray old = xRecon) {
                xRecon = old.clip(-1f, 1f);
            }
        }
        return new PMeanVariance(qPosterior(xRecon, x, t), xRecon);
    }

    /**
     * The model posterior and its x0 prediction; the record owns the arrays, closing it closes them.
     *
     * @param posterior q(x_{t-1} | x_t, x0) with the predicted x0
     * @param x0 the predicted x0, [B, C, H, W]
     */
    public record PMeanVariance(MeanVariance posterior, NDArray x0) implements AutoCloseable {
        @Override
        public void close() {
            posterior.close();
            x0.close();
        }
    }

    /**
     * {@code p_mean_variance(x, t, clip_denoised)} (DDPM: unconditional network call).
     *
     * @param x x_t, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param clip clamp the predicted x0 to [-1, 1]
     * @return the model posterior, new arrays the caller closes (close the record)
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range, or the
     *     wrapper needs a conditioning
     */
    public MeanVariance pMeanVariance(NDArray x, NDArray t, boolean clip) {
        try (NDArray out = applyModel(x, t, null);
                PMeanVariance p = pMeanVarianceFromOutput(x, t, out, clip)) {
            MeanVariance mv = p.posterior();
            return new MeanVariance(mv.mean().duplicate(), mv.variance().duplicate(), mv.logVariance().duplicate());
        }
    }

    /**
     * {@code p_sample(x, t)}: {@code mean + nonzero_mask * exp(0.5 * log_var) * randn(x.shape)} (the
     * draw happens for every batch, also where t == 0).
     *
     * @param x x_t, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param clip clamp the predicted x0 to [-1, 1]
     * @param noise the source of the draw
     * @return x_{t-1} [B, C, H, W], a new array the caller closes
     */
    public NDArray pSample(NDArray x, NDArray t, boolean clip, NoiseSource noise) {
        return pSample(x, null, t, clip, noise);
    }

    /**
     * {@code p_sample(x, c, t)} with a conditioning (LatentDiffusion); see {@link #pSample(NDArray,
     * NDArray, boolean, NoiseSource)}.
     *
     * @param x x_t, [B, C, H, W]
     * @param c the conditioning passed to {@link #applyModel}, or null
     * @param t the [B] int64 timesteps in [0, T)
     * @param clip clamp the predicted x0 to [-1, 1]
     * @param noise the source of the draw
     * @return x_{t-1} [B, C, H, W], a new array the caller closes
     */
    public NDArray pSample(NDArray x, NDArray c, NDArray t, boolean clip, NoiseSource noise) {
        return DdpmSampling.pSample(this, x, c, t, clip, noise);
    }

    /**
     * {@code p_sample_loop}: from {@code x_T} (or {@code randn(shape)}) through every timestep
     * T-1..0, each step in its own {@link NDScope}; intermediates (starting with {@code x_T}) every
     * {@code log_every_t} steps and at T-1. With {@code mask}/{@code x0} each step blends {@code
     * q_sample(x0, t) * mask + (1 - mask) * img} after the step (LatentDiffusion).
     *
     * @param shape [B, C, H, W]
     * @param cond conditioning, or null
     * @param options {@code x_T}, {@code mask}/{@code x0}, {@code log_every_t} and the step callback
     * @param noise the source of every draw
     * @return the final sample and the kept intermediates (the first is {@code x_T}); arrays in the
     *     module's manager, or {@code x_T}'s when given, which the caller closes
     * @throws IllegalArgumentException when {@code options} asks for classifier-free guidance or the
     *     mask does not fit
     */
    public SampleResult pSampleLoop(Shape shape, NDArray cond, SampleOptions options, NoiseSource noise) {
        return DdpmSampling.pSampleLoop(this, shape, cond, options, noise);
    }

    /**
     * {@code q_sample(x_start, t)} drawing {@code randn_like(x_start)}: {@code sqrt_alphas_cumprod[t] *
     * x_start + sqrt_one_minus_alphas_cumprod[t] * noise}.
     *
     * @param xStart x_0, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param noise the source of the draw
     * @return x_t [B, C, H, W], a new array in the manager of {@code t}; the caller closes it
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public NDArray qSample(NDArray xStart, NDArray t, NoiseSource noise) {
        try (NDArray n = noise.randnLike(xStart)) {
            return qSample(xStart, t, n);
        }
    }

    /**
     * {@code get_loss(pred, target, mean)}: l1 {@code |target - pred|} or l2 {@code (target - pred)^2}
     * ({@code loss_type}).
     *
     * @param pred the prediction
     * @param target the target, same shape
     * @param mean reduce to the scalar mean
     * @return the element-wise loss, or its scalar mean; a new array the caller closes
     */
    public NDArray getLoss(NDArray pred, NDArray target, boolean mean) {
        return DdpmTraining.getLoss(params.lossType(), pred, target, mean);
    }

    /**
     * {@code x.mean(dim=[1, 2, 3])} (every non-batch axis; one reduction like torch's).
     *
     * @param x a batch [B, ...]
     * @return the per-sample mean [B], a new array the caller closes
     */
    protected static NDArray meanFlat(NDArray x) {
        return DdpmTraining.meanFlat(x);
    }

    /**
     * The {@code train}/{@code val} prefix of loss dict keys.
     *
     * @return {@code train} in training mode, else {@code val}
     */
    protected String logPrefix() {
        return isTraining() ? "train" : "val";
    }

    /**
     * {@code DDPM.p_losses(x_start, t, noise)}: simple loss (eps: against the noise, x0: against
     * {@code x_start}) plus {@code original_elbo_weight} times the {@code lvlb_weights}-weighted VLB
     * term.
     *
     * @param xStart x_0, [B, C, H, W]
     * @param t the [B] int64 timesteps in [0, T)
     * @param noise the noise [B, C, H, W], or null to draw {@code randn_like(x_start)}
     * @param noiseSource the source of that draw
     * @return the loss and the {@code train/...} or {@code val/...} loss dict, new arrays the caller
     *     closes (intermediates are left to the arrays' manager: call it inside an {@link NDScope})
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public Losses pLosses(NDArray xStart, NDArray t, NDArray noise, NoiseSource noiseSource) {
        return DdpmTraining.pLosses(this, xStart, t, noise, noiseSource);
    }

    /**
     * {@code forward(x)}: {@code t = randint(0, T, (B,))}, then {@link #pLosses}.
     *
     * @param x x_0, [B, C, H, W]
     * @param noise the source of {@code t} and of the noise
     * @return the loss and loss dict, new arrays in the manager of {@code x}; the caller closes them
     */
    public Losses forward(NDArray x, NoiseSource noise) {
        NDArray t = noise.randint(x.getManager(), 0, numTimesteps, new Shape(x.getShape().get(0)));
        return pLosses(x, t, null, noise);
    }

    /**
     * {@code get_input(batch, k)}: {@code batch[k]} channels-last [B, H, W(, C)] rearranged to
     * [B, C, H, W] float32.
     *
     * @param batch the batch by key
     * @param k the key ({@code first_stage_key})
     * @return a new [B, C, H, W] float32 array in the manager of {@code batch[k]}; the caller closes it
     *
     * @throws IllegalArgumentException when the key is missing or the rank is not 3 or 4
     */
    public static NDArray getInput(Map<String, NDArray> batch, String k) {
        return DdpmTraining.getInput(batch, k);
    }

    /**
     * {@code shared_step(batch)}: {@code forward(get_input(batch, first_stage_key))}.
     *
     * @param batch the batch by key
     * @param noise the source of the timesteps and noise
     * @return the loss and loss dict, new arrays the caller closes
     * @throws IllegalArgumentException when the batch lacks {@code first_stage_key} or has a bad rank
     */
    public Losses sharedStep(Map<String, NDArray> batch, NoiseSource noise) {
        NDArray x = getInput(batch, params.firstStageKey());
        return forward(x, noise);
    }

    // ------------------------------------------------------------------ training helpers

    /**
     * The parameters {@code configure_optimizers} trains: the network's (and {@code logvar} with
     * {@code learn_logvar}).
     *
     * @return a new map of {@code model.*} (and {@code logvar}) to the module's own parameters
     */
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            if (e.getValue().requiresGrad()) {
                out.put("model." + e.getKey(), e.getValue());
            }
        }
        if (logvar != null) {
            out.put("logvar", logvar);
        }
        return out;
    }

    /**
     * One training step ({@code training_step}, backward, {@code opt.step()}, {@code
     * on_train_batch_end}): {@link #forwardBackward} then {@link #optimizerStep} in one {@link
     * NDScope}; only the weights and optimizer state survive.
     *
     * @param batch the batch by key ({@code first_stage_key}: [B, H, W, C] images)
     * @param optimizer an AdamW over {@link #trainableParameters()} (e.g. {@code new AdamW(m.trainableParameters(), hp, manager)})
     * @param noise the source of the timesteps and noise (also opened as the {@link NoiseScope})
     * @return the loss dict as doubles ({@code loss} plus the {@code train/...} entries, and {@code
     *     lr_abs} when the scheduler applies: LatentDiffusion with {@code scheduler_config} sets the
     *     optimizer's lr to {@code base_lr * multiplier(global_step)} before the update)
     * @throws io.github.sgm4j.optim.NonFiniteLossException when the loss is NaN or infinite (nothing
     *     is updated)
     */
    public Map<String, Double> trainStep(Map<String, NDArray> batch, AdamW optimizer,
            NoiseSource noise) {
        try (NDScope scope = new NDScope()) {
            Map<String, Double> out = forwardBackward(batch, noise, 1.0);
            if (scheduler != null && appliesScheduler()) {
                out.put("lr_abs", optimizerStep(optimizer));
            } else {
                optimizerStep(optimizer);
            }
            scope.suppressNotUsedWarning();
            return out;
        }
    }

    /**
     * {@code training_step} and {@code (loss * lossScale).backward()}: {@link #sharedStep} in train
     * mode (the previous modes are restored afterwards, also on failure) under a gradient collector;
     * the gradients accumulate on {@link #trainableParameters()} until {@link #optimizerStep}. Call it
     * inside an {@link NDScope}: the intermediates are left to it.
     *
     * @param batch the batch by key ({@code first_stage_key}: [B, H, W, C] images)
     * @param noise the source of the timesteps and noise (also opened as the {@link NoiseScope})
     * @param lossScale the factor of the back-propagated loss (1: plain {@code loss.backward()};
     *     Lightning's {@code 1 / accumulate_grad_batches})
     * @return the unscaled loss dict as doubles ({@code loss} plus the {@code train/...} entries), a
     *     new mutable map
     * @throws io.github.sgm4j.optim.NonFiniteLossException when the loss is NaN or infinite (no
     *     gradient is computed)
     */
    public Map<String, Double> forwardBackward(Map<String, NDArray> batch, NoiseSource noise, double lossScale) {
        Map<String, Double> out = new LinkedHashMap<>();
        Map<Module, Boolean> modes = trainingModes();
        try (NoiseScope ignored = NoiseScope.open(noise)) {
            train();
            Map<String, Parameter> trainable = trainableParameters();
            TrainingStep.requireGradients(trainable.values());
            Losses l = TrainingStep.forwardBackward(globalStep, () -> sharedStep(batch, noise),
                    r -> lossScale == 1.0 ? r.loss() : F.mul(r.loss(), lossScale));
            out.put("loss", (double) l.loss().getFloat());
            l.lossDict().forEach((k, v) -> out.put(k, (double) v.getFloat()));
        } finally {
            restoreTrainingModes(modes);
        }
        return out;
    }

    /**
     * Applies the accumulated gradients ({@code opt.step()}, {@code lr_scheduler.step()}, {@code
     * on_train_batch_end}): with a scheduler that applies ({@code use_scheduler}) the optimizer's lr
     * is set to {@code base_lr * multiplier(global_step)} (LambdaLR, interval step) first; then the
     * update, gradients zeroed, the EMA update, and {@code global_step + 1}.
     *
     * @param optimizer an AdamW over {@link #trainableParameters()}, its {@link AdamW#getParams()} lr
     *     the base learning rate
     * @return the learning rate used
     */
    public double optimizerStep(AdamW optimizer) {
        return optimizerStep(optimizer, null);
    }

    /**
     * {@link #optimizerStep(AdamW)} with Lightning's {@code gradient_clip_val}: the global gradient
     * norm is clipped to {@code clipNorm} before the update.
     *
     * @param optimizer an AdamW over {@link #trainableParameters()}, its {@link AdamW#getParams()} lr
     *     the base learning rate
     * @param clipNorm the maximum global gradient norm, or null for no clipping
     * @return the learning rate used
     */
    public double optimizerStep(AdamW optimizer, Double clipNorm) {
        if (scheduler != null && appliesScheduler()) {
            // LambdaLR(opt, scheduler.schedule), interval step: lr = base_lr * schedule(global_step)
            optimizer.setLr(optimizer.getParams().lr() * scheduler.multiplier(globalStep));
        }
        double lr = optimizer.getLr();
        TrainingStep.applyGradients(optimizer, trainableParameters().values(), clipNorm, this::onTrainBatchEnd);
        globalStep++;
        return lr;
    }

    /** {@code on_train_batch_end}: one EMA update when {@code use_ema}. */
    public void onTrainBatchEnd() {
        if (modelEma != null) {
            modelEma.update(model);
        }
    }

    /**
     * {@code ema_scope()}: while open the network holds the EMA weights; closing restores the
     * training weights and frees the stored copies. A no-op without {@code use_ema}; a nested call
     * while a scope is open returns a no-op scope.
     *
     * @return the scope to close (try-with-resources)
     */
    public EmaScope emaScope() {
        return modelEma == null ? EmaScope.none() : modelEma.scope(model);
    }
}
