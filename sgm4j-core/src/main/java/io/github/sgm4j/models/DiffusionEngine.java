package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.modules.EmaScope;
import io.github.sgm4j.modules.LitEma;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DenoiseFunction;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss;
import io.github.sgm4j.modules.diffusionmodules.sampling.BaseDiffusionSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.SamplerCallback;
import io.github.sgm4j.modules.diffusionmodules.wrappers.DiffusionNetwork;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.nn.BatchChunks;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.StateDictException;
import io.github.sgm4j.noise.NoiseScope;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import io.github.sgm4j.optim.LrScheduler;
import io.github.sgm4j.optim.NonFiniteLossException;
import io.github.sgm4j.optim.TrainingStep;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port of {@code sgm.models.diffusion.DiffusionEngine}: the network (wrapped, keys {@code
 * model.diffusion_model.*}), its denoiser, conditioner ({@code conditioner.embedders.N.*}), frozen
 * first stage ({@code first_stage_model.*}), loss, sampler and the optional EMA ({@code
 * model_ema.*}), built from the original YAML.
 *
 * <p>Size: config wiring ({@code EngineConfig}), image/caption logging ({@code ImageLogger}), the
 * training-step skeleton ({@link io.github.sgm4j.optim.TrainingStep}) and chunking ({@link
 * io.github.sgm4j.nn.BatchChunks}) live in their own classes; what is left (about half of it Javadoc) is the facade: state,
 * the public methods with their Javadoc (the high-level API included), the nested result types
 * of its API.
 *
 * <p>The facade: {@link #encode} / {@link #decode} (scale factor, {@code
 * en_and_decode_n_samples_a_time} chunking), {@link #sample}, {@link #trainStep} (torch-exact AdamW,
 * LambdaLR-style scheduler, EMA update) and {@link #emaScope()}.
 *
 * <p>The high-level API works with plain Java values:
 *
 * <pre>{@code
 * DiffusionEngine engine = DiffusionEngine.load(ConfigNode.loadResource("mnist_tiny.yaml"), null, manager);
 * DiffusionEngine.StepResult r = engine.trainBatch(batch, NoiseSource.seeded(0));   // batch: "jpg", "cls"
 * engine.save(Path.of("run/last.safetensors"));                                     // + run/last.trainer.safetensors
 * DiffusionEngine again = DiffusionEngine.load(config, Path.of("run/last.safetensors"), other);
 * NDArray images = again.sample(Map.of("cls", new int[] {0, 1, 2, 3}), 4, SampleOptions.defaults().withSeed(42));
 * }</pre>
 *
 * <p><b>Ownership and lifetime.</b> Every tensor of the engine (weights, EMA shadows, optimizer
 * moments) belongs to the manager given to {@link #load(ConfigNode, Path, NDManager)} / {@link
 * #initialize}; closing that manager frees the engine, which must not be used afterwards. Arrays
 * returned to the caller, who closes them (or their manager) when done:
 *
 * <ul>
 *   <li>{@link #sample(Map, int, SampleOptions)}: owned by {@code options.manager()}, or the
 *       engine's manager when null; intermediates are freed before returning.
 *   <li>{@link #sample(Map, Map, int, Shape, NoiseSource, SamplerCallback, NDManager)}: owned by
 *       the {@code out} manager; the overload without it uses the manager of the first {@code cond}
 *       array (the engine's when {@code cond} is empty).
 *   <li>{@link #encode} and {@link #decode}: new arrays in the manager of their input.
 *   <li>{@link #logImages} and {@link #logConditionings}: new arrays in the managers of the batch's
 *       arrays (those of DJL's operations on them; the {@code inputs} entry is a slice of the
 *       {@code input_key} array).
 *   <li>{@link #stateDict()}: the engine's own arrays, not copies: do not close them; they stay
 *       valid until the engine's manager is closed or the weights are replaced (loading, an
 *       optimizer step).
 * </ul>
 *
 * <p>{@link #trainStep}, {@link #trainBatch} and {@link #forwardBackward} return plain Java values
 * and run inside an {@link NDScope} (or free their intermediates), so only the model and optimizer
 * state survive; the batch arrays stay the caller's and are not modified.
 *
 * <p><b>Thread-safety.</b> Not thread-safe: training, sampling, loading, saving and the EMA scope
 * mutate the engine (weights, training modes, step counter, cached sampler). Use an engine from one
 * thread at a time (or one engine per thread); several engines may run concurrently, their random
 * draws stay independent ({@link NoiseSource}).
 *
 */
public class DiffusionEngine extends Module {

    private static final Logger LOG = LoggerFactory.getLogger(DiffusionEngine.class);

    /** Batch key of cached posterior means ({@code sgm4j encode-dataset}), used instead of {@code input_key}. */
    public static final String LATENT_MEAN = "latent_mean";
    /** Batch key of cached posterior standard deviations, beside {@link #LATENT_MEAN}. */
    public static final String LATENT_STD = "latent_std";

    /** sgm's default network wrapper. */
    public static final String DEFAULT_WRAPPER = "sgm.modules.diffusionmodules.wrappers.OpenAIWrapper";

    /**
     * Scalar parameters with sgm's defaults.
     *
     * @param inputKey batch key of the images ({@code input_key}, default {@code jpg})
     * @param useEma keep an EMA of the network ({@code use_ema})
     * @param emaDecayRate EMA decay ({@code ema_decay_rate}, 0.9999)
     * @param scaleFactor latent scale ({@code scale_factor}, 1.0)
     * @param enAndDecodeNSamplesATime first-stage chunk size, or null for the whole batch
     * @param logKeys conditioner input keys shown by {@link #logImages} (null: all)
     * @param noCondLog do not render conditionings in {@link #logImages}
     * @param ckptPath checkpoint loaded by {@link #initialize} ({@code init_from_ckpt}), or null
     */
    public record Params(String inputKey, boolean useEma, double emaDecayRate, double scaleFactor,
            Integer enAndDecodeNSamplesATime, List<String> logKeys, boolean noCondLog, String ckptPath) {}

    private final Params params;
    private final Module model;
    private final DiffusionNetwork network;
    private final Denoiser denoiser;
    private final BaseDiffusionSampler sampler;
    private final GeneralConditioner conditioner;
    private final Module firstStageModel;
    private final FirstStage firstStage;
    private final StandardDiffusionLoss lossFn;
    private final LitEma modelEma;
    private final AdamW.Params optimizerParams;
    private final LrScheduler scheduler;
    private double learningRate = 1e-4;
    private AdamW optimizer;
    private long globalStep;
    private Double gradClipNorm;

    /**
     * Builds the engine from built collaborators.
     *
     * @param params scalar parameters
     * @param model the wrapped network (e.g. OpenAIWrapper over UNetModel); must implement {@link DiffusionNetwork}
     * @param denoiser the denoiser
     * @param sampler the sampler, or null (no sampling)
     * @param conditioner the conditioner (an empty one for unconditional models)
     * @param firstStageModel the first stage (an autoencoder or {@link IdentityFirstStage}); frozen here
     * @param lossFn the training loss, or null (no training)
     * @param optimizerParams AdamW hyper-parameters (learning rate set by {@link #setLearningRate})
     * @param scheduler the learning-rate multiplier per step, or null
     */
    public DiffusionEngine(Params params, Module model, Denoiser denoiser, BaseDiffusionSampler sampler,
            GeneralConditioner conditioner, Module firstStageModel, StandardDiffusionLoss lossFn,
            AdamW.Params optimizerParams, LrScheduler scheduler) {
        if (!(model instanceof DiffusionNetwork)) {
            throw new IllegalArgumentException("DiffusionEngine: the wrapped network " + model.getClass().getName()
                    + " does not implement DiffusionNetwork");
        }
        if (!(firstStageModel instanceof FirstStage)) {
            throw new IllegalArgumentException("DiffusionEngine: first stage " + firstStageModel.getClass().getName()
                    + " cannot encode/decode (does not implement FirstStage)");
        }
        this.params = params;
        this.model = register("model", model);
        this.network = (DiffusionNetwork) model;
        this.denoiser = register("denoiser", denoiser);
        this.sampler = sampler;
        this.conditioner = register("conditioner", conditioner);
        this.firstStageModel = register("first_stage_model", firstStageModel);
        this.firstStage = (FirstStage) firstStageModel;
        firstStageModel.eval();
        firstStageModel.requiresGrad(false);
        this.lossFn = lossFn;
        this.modelEma = params.useEma() ? register("model_ema", new LitEma(model, params.emaDecayRate(), true)) : null;
        this.optimizerParams = optimizerParams;
        this.scheduler = scheduler == null ? LrScheduler.constant() : scheduler;
    }

    /**
     * Builds from {@code sgm.models.diffusion.DiffusionEngine} params (the original YAML).
     *
     * @param p the {@code params} node of the model config
     * @param inst the instantiator for the nested {@code *_config} nodes
     * @return the engine (not yet initialized)
     * @throws ConfigException when a key is missing, invalid or unsupported
     */
    public static DiffusionEngine fromConfig(ConfigNode p, Instantiator inst) {
        return EngineConfig.build(p, inst);
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The scalar parameters.
     *
     * @return the engine's scalar settings ({@code input_key}, {@code scale_factor}, ...)
     */
    public Params getParams() {
        return params;
    }

    /**
     * The wrapped network ({@code self.model}).
     *
     * @return the wrapper module whose child {@code diffusion_model} is the network
     */
    public Module getModel() {
        return model;
    }

    /**
     * The denoiser.
     *
     * @return the denoiser ({@code denoiser_config})
     */
    public Denoiser getDenoiser() {
        return denoiser;
    }

    /**
     * The sampler, or null.
     *
     * @return the configured sampler ({@code sampler_config}), or null when the config has none
     */
    public BaseDiffusionSampler getSampler() {
        return sampler;
    }

    /**
     * The conditioner.
     *
     * @return the conditioner ({@code conditioner_config}; an empty one when not configured)
     */
    public GeneralConditioner getConditioner() {
        return conditioner;
    }

    /**
     * The first stage module.
     *
     * @return the frozen first stage ({@code first_stage_model}), always in eval mode
     */
    public Module getFirstStageModel() {
        return firstStageModel;
    }

    /**
     * The loss, or null.
     *
     * @return the training loss ({@code loss_fn_config}), or null when the config has none
     */
    public StandardDiffusionLoss getLossFn() {
        return lossFn;
    }

    /**
     * The EMA, or null.
     *
     * @return the EMA of the network ({@code model_ema}), or null without {@code use_ema}
     */
    public LitEma getModelEma() {
        return modelEma;
    }

    /**
     * The optimizer, once training started (or after {@link #configureOptimizers}).
     *
     * @return the AdamW optimizer, or null before the first training step
     */
    public AdamW getOptimizer() {
        return optimizer;
    }

    /**
     * The number of optimizer steps taken ({@code global_step}).
     *
     * @return the step counter
     */
    public long getGlobalStep() {
        return globalStep;
    }

    /**
     * Sets the step counter (when resuming).
     *
     * @param step the new {@code global_step} (drives the learning-rate scheduler)
     */
    public void setGlobalStep(long step) {
        this.globalStep = step;
    }

    /**
     * The base learning rate ({@code model.base_learning_rate} of the config; sgm's {@code learning_rate}).
     *
     * @return the base learning rate (before the scheduler's multiplier)
     */
    public double getLearningRate() {
        return learningRate;
    }

    /**
     * Sets the base learning rate.
     *
     * @param lr the base learning rate (at least 0); takes effect at the next step
     * @throws IllegalArgumentException when {@code lr} is negative or NaN
     */
    public void setLearningRate(double lr) {
        if (!(lr >= 0)) {
            throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
        }
        this.learningRate = lr;
    }

    /**
     * Clips the global gradient norm to {@code maxNorm} before each step (null: off, the default).
     *
     * @param maxNorm the largest global L2 norm of the gradients, or null for no clipping
     */
    public void setGradClipNorm(Double maxNorm) {
        this.gradClipNorm = maxNorm;
    }

    /**
     * The denoiser closure samplers call ({@code lambda input, sigma, c: denoiser(model, input, sigma, c)}).
     *
     * @return the denoiser bound to this engine's network; arrays it returns are the caller's to close
     */
    public DenoiseFunction denoiseFunction() {
        return denoiser.bind(network);
    }

    /**
     * Training mode for the network and trainable embedders; the frozen first stage and
     * non-trainable embedders stay in eval mode (sgm's {@code disabled_train}).
     */
    @Override
    public Module train(boolean mode) {
        super.train(mode);
        firstStageModel.eval();
        return this;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Loads {@code ckpt_path} when configured ({@code init_from_ckpt}: non-strict, missing/unexpected
     * keys reported), after the first stage loaded its own ({@link #initialize} of the tree calls
     * this).
     */
    @Override
    protected void loadPretrained() {
        if (params.ckptPath() != null) {
            initFromCkpt(Path.of(params.ckptPath()));
        }
    }

    /**
     * {@code init_from_ckpt(path)}: loads a {@code .safetensors} state dict non-strictly and logs the
     * missing and unexpected keys. A checkpoint that shares no key with this engine (another
     * architecture) or whose shapes differ is an error, never a silent half-load.
     *
     * @param path the {@code .safetensors} checkpoint
     * @return the missing and unexpected keys
     * @throws CheckpointException when the file is missing, not a {@code .safetensors} file or
     *     shares no key with this engine
     * @throws StateDictException when a tensor's shape differs from the engine's
     */
    public LoadResult initFromCkpt(Path path) {
        return EngineCheckpoint.initFromCkpt(path, this);
    }

    /**
     * Loads a state dict non-strictly; throws {@link IllegalArgumentException} when it matches none
     * of this engine's keys (a checkpoint of another architecture) and {@code StateDictException} on
     * shape mismatches. The arrays of {@code sd} are copied into the engine's tensors; the caller
     * still owns (and closes) them.
     *
     * @param sd the state dict by sgm key ({@code model.diffusion_model.*}, ...)
     * @param source what {@code sd} came from, for the error message (e.g. the file name)
     * @return the missing and unexpected keys
     * @throws IllegalArgumentException when {@code sd} shares no key with this engine
     * @throws StateDictException when a tensor's shape differs from the engine's
     */
    public LoadResult loadCheckpointStateDict(Map<String, NDArray> sd, String source) {
        long overlap = sd.keySet().stream().filter(stateDictKeys()::contains).count();
        if (overlap == 0) {
            throw new IllegalArgumentException(source + " shares no key with this model (" + sd.size()
                    + " keys, e.g. " + sd.keySet().stream().limit(3).toList() + "): checkpoint of another architecture?");
        }
        return loadStateDict(sd, false);
    }

    // ------------------------------------------------------------------ first stage

    /**
     * What {@link #encode} computes from cached posterior moments: {@code scale_factor * (mean + std *
     * randn)}, one draw per chunk of {@code en_and_decode_n_samples_a_time} as the first stage's
     * posterior sample makes it, so a batch of cached latents gives the latents that encoding its
     * images would give with the same noise (up to the encoder's rounding in another batch layout).
     *
     * @param mean posterior means {@code [B, C, h, w]} ({@link #LATENT_MEAN})
     * @param std posterior standard deviations, the same shape ({@link #LATENT_STD})
     * @param noise the source of the draws
     * @return the scaled latents, a new array in the manager of {@code mean}; the caller closes it
     * @throws IllegalArgumentException when the shapes differ
     */
    public NDArray sampleCachedLatents(NDArray mean, NDArray std, NoiseSource noise) {
        if (!mean.getShape().equals(std.getShape())) {
            throw new IllegalArgumentException("cached latents: '" + LATENT_MEAN + "' " + mean.getShape() + " and '"
                    + LATENT_STD + "' " + std.getShape() + " differ");
        }
        boolean prev = F.setGradEnabled(false);
        try {
            Integer n = params.enAndDecodeNSamplesATime();
            long b = mean.getShape().get(0);
            NDArray z;
            if (n == null || n >= b) {
                z = posteriorSample(mean, std, noise);
            } else {
                NDList parts = new NDList();
                for (long s = 0; s < b; s += n) {
                    String rows = s + ":" + Math.min(b, s + n);
                    try (NDArray mu = mean.get(rows); NDArray sd = std.get(rows)) {
                        parts.add(posteriorSample(mu, sd, noise));
                    }
                }
                z = NDArrays.concat(parts, 0);
                parts.close();
            }
            return scaled(z);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /** {@code mean + std * randn(mean.shape)}, as the first stage's posterior sample draws it. */
    private static NDArray posteriorSample(NDArray mean, NDArray std, NoiseSource noise) {
        try (NDArray eps = noise.randn(mean.getManager(), mean.getShape());
                NDArray epsOnDevice = eps.toDevice(mean.getDevice(), false);
                NDArray scaled = std.mul(epsOnDevice)) {
            return mean.add(scaled);
        }
    }

    /** {@code scale_factor * z}; closes {@code z} unless the factor is 1. */
    private NDArray scaled(NDArray z) {
        if (params.scaleFactor() == 1.0) {
            return z;
        }
        try (z) {
            return F.mul(z, params.scaleFactor());
        }
    }

    /**
     * {@code encode_first_stage(x)}: {@code scale_factor * first_stage.encode(x)}, in chunks of
     * {@code en_and_decode_n_samples_a_time}, without autograd.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param noise the source of the first stage's posterior samples
     * @return the scaled latents {@code [B, z_channels, H / f, W / f]}, a new array in the manager of
     *     {@code x}; the caller closes it
     */
    public NDArray encode(NDArray x, NoiseSource noise) {
        boolean prev = F.setGradEnabled(false);
        try {
            NDArray z = chunked(x, part -> firstStage.encode(part, noise));
            return scaled(z);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * {@code decode_first_stage(z)}: {@code first_stage.decode(z / scale_factor)}, in chunks of
     * {@code en_and_decode_n_samples_a_time}, without autograd.
     *
     * @param z scaled latents {@code [B, z_channels, h, w]} (as {@link #encode} or {@link #sample}
     *     return them)
     * @return images {@code [B, C, h * f, w * f]}, roughly in {@code [-1, 1]}, a new array in the
     *     manager of {@code z}; the caller closes it
     */
    public NDArray decode(NDArray z) {
        boolean prev = F.setGradEnabled(false);
        try (NDArray scaled = F.mul(z, 1.0 / params.scaleFactor())) {
            return chunked(scaled, firstStage::decode);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    private NDArray chunked(NDArray x, java.util.function.Function<NDArray, NDArray> f) {
        return BatchChunks.apply(x, params.enAndDecodeNSamplesATime(), f);
    }

    // ------------------------------------------------------------------ sampling

    /**
     * {@code sample(cond, uc, batch_size, shape)}: draws {@code randn(batch_size, *shape)} from {@code
     * noise} and runs the configured sampler. The result belongs to the manager of the first {@code
     * cond} array (the engine's manager when {@code cond} is empty): see {@link #sample(Map, Map, int,
     * Shape, NoiseSource, SamplerCallback, NDManager)}.
     *
     * @param cond conditioning (from {@link GeneralConditioner#getUnconditionalConditioning})
     * @param uc unconditional conditioning, or null
     * @param batchSize number of samples
     * @param shape the per-sample shape (C, H, W) of the latent
     * @param noise source of every draw
     * @param progress per-step callback (may be null); returning false cancels
     * @return the samples in latent space [B, C, H, W]
     */
    public NDArray sample(Map<String, NDArray> cond, Map<String, NDArray> uc, int batchSize, Shape shape,
            NoiseSource noise, SamplerCallback progress) {
        NDManager out = cond.values().stream().findFirst().map(NDArray::getManager).orElse(getManager());
        return sample(cond, uc, batchSize, shape, noise, progress, out);
    }

    /**
     * {@link #sample(Map, Map, int, Shape, NoiseSource, SamplerCallback)} with the result attached to
     * {@code out}: the caller owns it (closing {@code out} frees it). The sampler's intermediates live
     * in a sub-manager of the engine's that is closed before returning. Samples in eval mode without
     * autograd (the tree's previous training modes are restored afterwards), so dropout never acts
     * while sampling.
     *
     * @param cond conditioning (from {@link GeneralConditioner#getUnconditionalConditioning})
     * @param uc unconditional conditioning, or null
     * @param batchSize number of samples
     * @param shape the per-sample shape (C, H, W) of the latent
     * @param noise source of every draw
     * @param progress per-step callback (may be null); returning false cancels
     * @param out the manager that owns the returned array
     * @return the samples in latent space {@code [B, C, H, W]}, attached to {@code out}
     * @throws IllegalStateException when the engine has no {@code sampler_config}
     */
    public NDArray sample(Map<String, NDArray> cond, Map<String, NDArray> uc, int batchSize, Shape shape,
            NoiseSource noise, SamplerCallback progress, NDManager out) {
        if (sampler == null) {
            throw new IllegalStateException("this DiffusionEngine has no sampler_config: it cannot sample");
        }
        Map<Module, Boolean> modes = trainingModes();
        eval();
        try (GradMode ignored = GradMode.disabled();
                NDManager work = getManager().newSubManager()) {
            long[] dims = new long[shape.dimension() + 1];
            dims[0] = batchSize;
            System.arraycopy(shape.getShape(), 0, dims, 1, shape.dimension());
            try (NDArray randn = noise.randn(work, new Shape(dims))) {
                NDArray result = sampler.sample(denoiseFunction(), randn, cond, uc, noise, null, progress);
                result.attach(out);
                return result;
            }
        } finally {
            restoreTrainingModes(modes);
        }
    }

    // ------------------------------------------------------------------ training

    /**
     * The trainable parameters in {@code configure_optimizers} order: the network's, then trainable
     * embedders'.
     *
     * @return a new map from state-dict key ({@code model.*}, {@code conditioner.embedders.N.*}) to
     *     the engine's own parameter (not copies)
     */
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            if (e.getValue().requiresGrad()) {
                out.put("model." + e.getKey(), e.getValue());
            }
        }
        List<AbstractEmbModel> embs = conditioner.getEmbedders();
        for (int i = 0; i < embs.size(); i++) {
            if (embs.get(i).isTrainable()) {
                for (Map.Entry<String, Parameter> e : embs.get(i).namedParameters().entrySet()) {
                    out.put("conditioner.embedders." + i + "." + e.getKey(), e.getValue());
                }
            }
        }
        return out;
    }

    /**
     * {@code configure_optimizers()}: AdamW over {@link #trainableParameters()} at the base learning
     * rate. Built once (its state in the engine's manager), then returned as is.
     *
     * @return the engine's optimizer
     */
    public AdamW configureOptimizers() {
        if (optimizer == null) {
            AdamW.Params hp = optimizerParams;
            hp = new AdamW.Params(learningRate, hp.beta1(), hp.beta2(), hp.eps(), hp.weightDecay(), hp.amsgrad());
            Map<String, Parameter> trainable = trainableParameters();
            optimizer = new AdamW(trainable, hp, getManager());
            TrainingStep.requireGradients(trainable.values());
        }
        return optimizer;
    }

    /**
     * The result of one training step.
     *
     * @param loss mean loss
     * @param lossPerSample the per-sample loss values
     * @param lr the learning rate used by the step
     * @param globalStep the step counter after the step
     */
    public record StepResult(double loss, float[] lossPerSample, double lr, long globalStep) {

        /**
         * sgm's log dict: {@code loss}, {@code lr_abs}, {@code global_step}.
         *
         * @return a new map of the three values, in that order
         */
        public Map<String, Double> logDict() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("loss", loss);
            m.put("lr_abs", lr);
            m.put("global_step", (double) globalStep);
            return m;
        }
    }

    /**
     * One optimisation step ({@code training_step} + backward + {@code opt.step()} + scheduler +
     * {@code on_train_batch_end}): {@link #forwardBackward} then {@link #optimizerStep}. Runs inside
     * an {@link NDScope}; only the model and optimizer state survive.
     *
     * @param batch the batch by key; must hold {@code input_key} and the conditioner's input keys
     * @param noise source of every draw of the step
     * @return the step's loss, learning rate and step counter (plain values, nothing to close)
     * @throws NonFiniteLossException when the loss is NaN or infinite (nothing is updated)
     */
    public StepResult trainStep(Map<String, NDArray> batch, NoiseSource noise) {
        try (NDScope scope = new NDScope()) {
            LossResult r = forwardBackward(batch, noise);
            double lr = optimizerStep();
            scope.suppressNotUsedWarning();
            return new StepResult(r.loss(), r.lossPerSample(), lr, globalStep);
        }
    }

    /**
     * The loss of one batch.
     *
     * @param loss mean loss
     * @param lossPerSample per-sample loss
     */
    public record LossResult(double loss, float[] lossPerSample) {}

    /**
     * {@code shared_step(batch)} and {@code loss.backward()}: first stage (no grad), conditioner (ucg
     * draws), sigma sampling, noise, denoiser + network, loss; gradients are left accumulated on the
     * trainable parameters for {@link #optimizerStep}. The tree is in training mode (frozen parts
     * in eval mode) only during the call: the previous modes are restored afterwards, also on
     * failure. Modules that draw in training mode (dropout) draw from {@code noise}.
     *
     * @param batch the batch by key; must hold {@code input_key} and the conditioner's input keys
     * @param noise source of every draw of the step
     * @return the loss values (plain values, nothing to close)
     * @throws IllegalStateException when the engine has no {@code loss_fn_config}
     * @throws IllegalArgumentException when {@code batch} has no {@code input_key}
     * @throws NonFiniteLossException when the loss is NaN or infinite
     */
    public LossResult forwardBackward(Map<String, NDArray> batch, NoiseSource noise) {
        return forwardBackward(batch, noise, 1.0);
    }

    /**
     * {@link #forwardBackward(Map, NoiseSource)} with the loss multiplied by {@code lossScale} before
     * the backward pass, as Lightning divides it by {@code accumulate_grad_batches}; the returned
     * values are the unscaled losses.
     *
     * @param batch the batch by key: arrays, and lists of captions for text embedders; must hold
     *     {@code input_key} and the conditioner's input keys
     * @param noise source of every draw of the step
     * @param lossScale the factor of the back-propagated loss (1: plain {@code loss.backward()})
     * @return the loss values (plain values, nothing to close)
     * @throws IllegalStateException when the engine has no {@code loss_fn_config}
     * @throws IllegalArgumentException when {@code batch} has no {@code input_key}
     * @throws NonFiniteLossException when the loss is NaN or infinite
     */
    public LossResult forwardBackward(Map<String, ?> batch, NoiseSource noise, double lossScale) {
        if (lossFn == null) {
            throw new IllegalStateException("this DiffusionEngine has no loss_fn_config: it cannot be trained");
        }
        NDArray input = batch.get(params.inputKey()) instanceof NDArray a ? a : null;
        NDArray cachedMean = batch.get(LATENT_MEAN) instanceof NDArray a ? a : null;
        NDArray cachedStd = batch.get(LATENT_STD) instanceof NDArray a ? a : null;
        if (input == null && (cachedMean == null || cachedStd == null)) {
            throw new IllegalArgumentException("training batch has no '" + params.inputKey() + "' (input_key) array and no"
                    + " cached latents ('" + LATENT_MEAN + "' and '" + LATENT_STD + "'); keys: " + batch.keySet());
        }
        configureOptimizers();
        Map<Module, Boolean> modes = trainingModes();
        train();
        boolean prev = F.setGradEnabled(false);
        float[] perSample;
        double mean;
        // the step's noise for modules drawing in training mode (dropout); the collector turns grad
        // mode on for the forward/backward on any thread
        try (NoiseScope ignored = NoiseScope.open(noise)) {
            NDArray x = input != null ? encode(input, noise) : sampleCachedLatents(cachedMean, cachedStd, noise);
            NDArray[] losses = TrainingStep.forwardBackward(globalStep, () -> {
                Map<String, NDArray> cond = conditioner.forward(batch, noise);
                NDArray loss = lossFn.forward(network, denoiser, cond, x, batch, noise);
                return new NDArray[] {loss, loss.mean()};
            }, l -> lossScale == 1.0 ? l[1] : F.mul(l[1], lossScale));
            perSample = losses[0].toFloatArray();
            mean = losses[1].getFloat();
        } finally {
            F.setGradEnabled(prev);
            restoreTrainingModes(modes);
        }
        return new LossResult(mean, perSample);
    }

    /**
     * Applies the accumulated gradients: optional clipping, AdamW at {@code base_lr *
     * scheduler(global_step)}, gradients zeroed, EMA update ({@code on_train_batch_end}), {@code
     * global_step + 1}.
     *
     * @return the learning rate used
     */
    public double optimizerStep() {
        AdamW opt = configureOptimizers();
        double lr = learningRate * scheduler.multiplier(globalStep);
        opt.setLr(lr);
        TrainingStep.applyGradients(opt, trainableParameters().values(), gradClipNorm,
                modelEma == null ? null : this::onTrainBatchEnd);
        globalStep++;
        return lr;
    }

    /**
     * {@code on_train_batch_end}: one EMA update of the network when {@code use_ema} (Lightning calls
     * it after every batch, also after the batches of a gradient accumulation that do not step the
     * optimizer). Runs with autograd off.
     */
    public void onTrainBatchEnd() {
        if (modelEma != null) {
            try (GradMode ignored = GradMode.disabled()) {
                modelEma.update(model);
            }
        }
    }

    // ------------------------------------------------------------------ EMA

    /**
     * {@code ema_scope()}: while open, the network holds the EMA weights; closing restores the
     * training weights (also when an exception leaves the block) and frees the stored copies. A
     * no-op without {@code use_ema}; a nested call while a scope is open returns a no-op scope.
     *
     * @return the scope to close (use try-with-resources)
     */
    public EmaScope emaScope() {
        return modelEma == null ? EmaScope.none() : modelEma.scope(model);
    }

    // ------------------------------------------------------------------ logging

    /**
     * {@code log_images(batch, N)}: {@code inputs}, {@code reconstructions}, the conditionings as
     * captions ({@link #logConditionings}) and, with a sampler, {@code samples} drawn in the EMA scope
     * with unconditional guidance on every conditioner key.
     *
     * @param batch the batch ({@code input_key} and the conditioner's inputs)
     * @param n at most this many images per entry
     * @param noise the sampler's noise
     * @return entries in the reference's order: inputs, reconstructions, one per logged
     *     conditioning key, samples
     * @throws Exception when the sampler or the first stage fails
     */
    public Map<String, NDArray> logImages(Map<String, NDArray> batch, int n, NoiseSource noise) throws Exception {
        return ImageLogger.logImages(this, batch, n, noise);
    }

    /**
     * {@code log_conditionings(batch, n)}: each embedder's input (all of them, or those in {@code
     * log_keys}; none with {@code no_cond_log}) rendered as a caption image by {@link
     * io.github.sgm4j.util.TextImages#render}: a 1-D tensor (class labels) as one number per image, a
     * 2-D tensor (sizes, crop coordinates) as its row joined by {@code x}.
     *
     * @param batch the batch
     * @param n at most this many captions per key
     * @return conditioner input key to {@code (n, 3, W, H)} images in [-1, 1]
     * @throws IllegalArgumentException when a logged key is missing from the batch or has more than
     *     two dimensions (the reference cannot caption those either; exclude it with {@code log_keys}
     *     or set {@code no_cond_log})
     */
    public Map<String, NDArray> logConditionings(Map<String, NDArray> batch, int n) {
        return ImageLogger.logConditionings(this, batch, n);
    }

    // ------------------------------------------------------------------ high-level API

    /** The config this engine was built from (set by {@link EngineLoader}), or null. */
    private ConfigNode sourceConfig;

    /** The last sampler built for overrides, and the overrides it was built for. */
    private BaseDiffusionSampler overrideSampler;
    private List<Object> overrideSamplerKey;

    /**
     * Builds the engine of a config: {@link EngineLoader#load(ConfigNode, Path, NDManager, long)} with
     * seed 0. The engine's arrays belong to {@code manager}: closing it frees the engine.
     *
     * @param config the config's root (with a {@code model} section), e.g. {@code
     *     ConfigNode.loadResource("mnist_tiny.yaml")}
     * @param checkpointOrNull a {@code .safetensors} checkpoint to load strictly by key (the EMA
     *     weights may be absent), or null for the seeded initial weights
     * @param manager owns every tensor of the engine
     * @return the engine, in eval mode, its base learning rate set from {@code model.base_learning_rate}
     * @throws ConfigException naming the YAML path of the first config error
     * @throws CheckpointException naming the file and the keys when the checkpoint is missing or does
     *     not match the model
     * @throws EngineCheckpoint.NonFiniteTensorException naming the file and the tensor when a loaded
     *     weight is NaN or infinite
     */
    public static DiffusionEngine load(ConfigNode config, Path checkpointOrNull, NDManager manager) {
        return EngineLoader.load(config, checkpointOrNull, manager, 0L);
    }

    /**
     * Reads a config file and builds its engine: {@link #load(ConfigNode, Path, NDManager)}.
     *
     * @param configFile the sgm-format YAML file
     * @param checkpointOrNull a {@code .safetensors} checkpoint, or null
     * @param manager owns every tensor of the engine
     * @return the engine, in eval mode
     * @throws ConfigException naming the file when it is missing, or the YAML path of the first
     *     config error
     * @throws CheckpointException naming the file and the keys when the checkpoint is missing or does
     *     not match the model
     */
    public static DiffusionEngine load(Path configFile, Path checkpointOrNull, NDManager manager) {
        if (!java.nio.file.Files.isRegularFile(configFile)) {
            throw new ConfigException("", "config file not found: " + configFile);
        }
        return load(EngineLoader.config(configFile), checkpointOrNull, manager);
    }

    /**
     * Records the config this engine was built from. {@link #sample(Map, int, SampleOptions)} reads
     * {@code model.params.network_config.params.image_size} from it and rebuilds {@code
     * model.params.sampler_config} for sampler and guider overrides. {@link EngineLoader} calls it.
     *
     * @param root the config's root (with a {@code model} section), or null
     */
    public void setConfig(ConfigNode root) {
        this.sourceConfig = root;
        this.overrideSampler = null;
        this.overrideSamplerKey = null;
    }

    /**
     * The config recorded by {@link #setConfig}.
     *
     * @return the config's root, or null when the engine was built without {@link EngineLoader}
     */
    public ConfigNode getConfig() {
        return sourceConfig;
    }

    /**
     * Writes a checkpoint pair like {@code train.Checkpoints.save} ({@link EngineCheckpoint#save}):
     * the model file (all state-dict keys, the global step and learning rate in its metadata) and,
     * when an optimizer exists (after a training step), {@code NAME.trainer.safetensors} with the
     * AdamW state and the same global step. Atomic (temporary files, then renames); a NaN or
     * infinite tensor is never written. Without an optimizer a stale trainer file is removed.
     *
     * @param checkpoint the model file, e.g. {@code run/last.safetensors}
     * @throws EngineCheckpoint.NonFiniteTensorException (before anything is written) naming the tensor
     * @throws java.io.UncheckedIOException when a file cannot be written (the previous pair is kept)
     */
    public void save(Path checkpoint) {
        EngineCheckpoint.save(checkpoint, this, null);
    }

    /**
     * Samples {@code n} images conditioned on plain Java values and decodes them: the conditioner
     * builds {@code c} from {@code values} and {@code uc} with every embedder zeroed (sgm's {@code
     * force_uc_zero_embeddings} on every key), the latent shape is derived from the model, the
     * sampler runs from {@code randn} drawn with {@code options.seed()}, and the first stage decodes.
     *
     * <p>Values, per conditioner input key ({@code "cls"}, {@code "original_size_as_tuple"}, ...): an
     * integer (repeated for every sample), {@code int[]} / {@code long[]} / {@code List<Integer>} (one
     * per sample), {@code double[]} / {@code float[]} (one vector for every sample), {@code
     * double[][]} (one vector per sample), a prompt {@code String} / {@code String[]} / {@code
     * List<String>} for a text embedder (one, repeated, or one per sample) or an {@link NDArray} with
     * {@code n} rows (not modified, still the caller's). An unconditional model takes an empty map.
     *
     * <p>Latent shape: the network's {@code in_channels} (minus the channels of a {@code concat}
     * conditioning), and the side {@code options.imageSize()} divided by the first stage's
     * downsampling factor (1 for {@code IdentityFirstStage}, {@code 2^(len(ch_mult)-1)} for {@code
     * AutoencoderKL}), or else the config's {@code network_config.params.image_size} (the network's
     * input, i.e. latent, side, as in the ldm configs).
     *
     * <p>Ownership: the returned array belongs to {@code options.manager()}, or to the engine's
     * manager when that is null; the caller closes it (or its manager). Every intermediate lives in a
     * sub-manager of the engine's that is closed before returning. Runs in eval mode without autograd
     * and restores the previous training modes; with {@code options.ema()} inside {@link
     * #emaScope()}. Deterministic: the same values, options and weights give bit-identical images.
     *
     * @param values conditioner inputs by key (null: none)
     * @param n the number of images
     * @param options sampler, steps, guidance, seed, EMA, image size, progress, result manager (null:
     *     {@link SampleOptions#defaults()})
     * @return the images {@code (n, C, H, W)} float32, roughly in [-1, 1]
     * @throws IllegalArgumentException when {@code n < 1}, a conditioner input is missing or unknown,
     *     a value cannot be converted, or the latent shape cannot be derived
     * @throws IllegalStateException when the engine has no sampler, or {@code ema} is requested without
     *     an EMA, or sampler overrides are requested without a recorded config
     * @throws io.github.sgm4j.modules.diffusionmodules.sampling.SamplingCancelledException when the
     *     progress callback cancels
     */
    public NDArray sample(Map<String, ?> values, int n, SampleOptions options) {
        SampleOptions o = options == null ? SampleOptions.defaults() : options;
        if (n < 1) {
            throw new IllegalArgumentException("sample: n must be >= 1, got " + n);
        }
        if (sampler == null) {
            throw new IllegalStateException("this DiffusionEngine has no sampler_config: it cannot sample");
        }
        if (o.ema() && modelEma == null) {
            throw new IllegalStateException("sample with ema: this engine keeps no EMA (use_ema is false)");
        }
        BaseDiffusionSampler s = samplerFor(o);
        NDManager out = o.manager() != null ? o.manager() : getManager();
        Map<String, ?> given = values == null ? Map.of() : values;
        List<String> keys = conditioner.getEmbedders().stream().map(AbstractEmbModel::getInputKey).toList();
        List<String> required = new ArrayList<>();
        for (AbstractEmbModel e : conditioner.getEmbedders()) {
            if (e.getInputKey() != null) {
                required.add(e.getInputKey());
            } else if (e.getInputKeys() != null) {
                required.addAll(e.getInputKeys());
            }
        }
        List<String> missing = required.stream().filter(k -> !given.containsKey(k)).distinct().toList();
        List<String> unknown = given.keySet().stream().filter(k -> !required.contains(k)).toList();
        if (!missing.isEmpty() || !unknown.isEmpty()) {
            throw new IllegalArgumentException("sample: the conditioner reads " + required + "; "
                    + (missing.isEmpty() ? "" : "missing " + missing + (unknown.isEmpty() ? "" : ", "))
                    + (unknown.isEmpty() ? "" : "unknown " + unknown));
        }
        Map<Module, Boolean> modes = trainingModes();
        eval();
        try (NDScope scope = new NDScope();
                GradMode ignored = GradMode.disabled();
                NDManager work = getManager().newSubManager()) {
            Map<String, Object> batch = BatchValues.toValues(given, n, work);
            for (Map.Entry<String, Object> e : batch.entrySet()) {
                if (!(e.getValue() instanceof NDArray arr)) {
                    continue; // prompts: BatchValues made n of them
                }
                Shape sh = arr.getShape();
                if (sh.dimension() == 0 || sh.get(0) != n) {
                    throw new IllegalArgumentException("sample: '" + e.getKey() + "' has shape " + sh + ", expected " + n
                            + " rows (one per sample)");
                }
            }
            GeneralConditioner.CondPair cu = conditioner.getUnconditionalConditioning(batch, null, keys, null);
            Shape latent = latentShape(o.imageSize(), cu.c(), n);
            NoiseSource noise = NoiseSource.seeded(o.seed());
            try (EmaScope ema = o.ema() ? emaScope() : EmaScope.none();
                    NDArray randn = noise.randn(work, latent)) {
                NDArray z = s.sample(denoiseFunction(), randn, cu.c(), cu.uc(), noise, o.numSteps(), o.progress());
                NDArray images = decode(z);
                images.attach(out);
                NDScope.unregister(images);
                scope.suppressNotUsedWarning();
                return images;
            }
        } finally {
            restoreTrainingModes(modes);
        }
    }

    /**
     * One training step on plain Java values or arrays: the values are converted (see {@link
     * #sample(Map, int, SampleOptions)}; the {@code input_key} images as an {@link NDArray} or a
     * {@code float[][][][]} {@code (B, C, H, W)}, class labels as {@code int[]}/{@code long[]}/{@code
     * List<Integer>}, size vectors as {@code double[][]}) and {@link #trainStep(Map, NoiseSource)}
     * runs.
     *
     * <p>Ownership: runs inside an {@link NDScope}: the converted arrays and every intermediate are
     * freed before returning; only the model, EMA and optimizer state (in the engine's manager)
     * survive. Arrays passed in stay the caller's and are not modified. The result holds plain Java
     * values only.
     *
     * @param batch the batch by key: {@code input_key} and the conditioner's input keys
     * @param noise source of every draw of the step (e.g. {@code NoiseSource.seeded(seed)})
     * @return the loss, per-sample loss, learning rate and global step after the step
     * @throws IllegalArgumentException when the batch has no {@code input_key} or a value cannot be
     *     converted
     * @throws NonFiniteLossException when the loss is NaN or infinite (nothing is updated)
     */
    public StepResult trainBatch(Map<String, ?> batch, NoiseSource noise) {
        int n = BatchValues.batchSize(batch, params.inputKey());
        try (NDScope scope = new NDScope()) {
            Map<String, NDArray> arrays = BatchValues.toArrays(batch, n, getManager());
            StepResult r = trainStep(arrays, noise);
            scope.suppressNotUsedWarning();
            return r;
        }
    }

    /** The configured sampler, or one rebuilt from the recorded config for the options' overrides. */
    private BaseDiffusionSampler samplerFor(SampleOptions o) {
        if (o.sampler() == null && o.guidanceScale() == null && !o.noGuidance()) {
            return sampler;
        }
        if (sourceConfig == null) {
            throw new IllegalStateException("sampler or guidance overrides need the engine's config: build it with"
                    + " DiffusionEngine.load or EngineLoader.load (or call setConfig)");
        }
        List<Object> key = Arrays.asList(o.sampler(), o.guidanceScale(), o.noGuidance());
        if (!key.equals(overrideSamplerKey)) {
            ConfigNode root = SamplerOverrides.apply(sourceConfig, o.sampler(), null, o.guidanceScale(), o.noGuidance());
            ConfigNode node = root.getNode("model").getNode("params").getNode("sampler_config");
            overrideSampler = new Instantiator().instantiate(node, BaseDiffusionSampler.class);
            overrideSamplerKey = key;
        }
        return overrideSampler;
    }

    /** (n, C, H, W) of the latent; see {@link #sample(Map, int, SampleOptions)}. */
    private Shape latentShape(Integer imageSize, Map<String, NDArray> c, int n) {
        io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel unet = findUNet(model);
        if (unet == null) {
            throw new IllegalArgumentException("cannot derive the latent channels: the network "
                    + model.getClass().getSimpleName() + " holds no UNetModel; use sample(cond, uc, n, shape, ...)");
        }
        long channels = unet.getParams().inChannels();
        NDArray concat = c.get("concat");
        if (concat != null) {
            channels -= concat.getShape().get(1);
        }
        int factor;
        if (firstStageModel instanceof IdentityFirstStage) {
            factor = 1;
        } else if (firstStageModel instanceof AutoencoderKL vae) {
            factor = vae.getDDConfig().downsamplingFactor();
        } else {
            throw new IllegalArgumentException("cannot derive the latent size: unknown downsampling factor of the first"
                    + " stage " + firstStageModel.getClass().getSimpleName());
        }
        long side;
        if (imageSize != null) {
            if (imageSize % factor != 0) {
                throw new IllegalArgumentException("image size " + imageSize + " is not a multiple of the first stage's"
                        + " downsampling factor " + factor);
            }
            side = imageSize / factor;
        } else {
            ConfigNode net = sourceConfig == null ? null
                    : sourceConfig.getNode("model").getNode("params").getNode("network_config").getNodeOrEmpty("params");
            if (net == null || !net.has("image_size") || net.isNull("image_size")) {
                throw new IllegalArgumentException("cannot derive the image size: pass SampleOptions.withImageSize(pixels)"
                        + " or set model.params.network_config.params.image_size (the latent side) in the config");
            }
            side = net.getInt("image_size");
        }
        return new Shape(n, channels, side, side);
    }

    private static io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel findUNet(Module m) {
        if (m instanceof io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel u) {
            return u;
        }
        for (Module child : m.children().values()) {
            io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel u = findUNet(child);
            if (u != null) {
                return u;
            }
        }
        return null;
    }
}
