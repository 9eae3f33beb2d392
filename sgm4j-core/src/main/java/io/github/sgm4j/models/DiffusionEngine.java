package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
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
 * <p>The facade: {@link #encode} / {@link #decode} (scale factor, {@code
 * en_and_decode_n_samples_a_time} chunking), {@link #sample}, {@link #trainStep} (torch-exact AdamW,
 * LambdaLR-style scheduler, EMA update) and {@link #emaScope()}.
 *
 * <p>Size: config wiring ({@code EngineConfig}), image/caption logging ({@code ImageLogger}), the
 * training-step skeleton ({@link io.github.sgm4j.optim.TrainingStep}) and chunking ({@link
 * io.github.sgm4j.nn.BatchChunks}) live in their own classes; what is left is the facade: state,
 * the public methods with their Javadoc, the nested result types of its API and the checkpoint
 * loading.
 */
public class DiffusionEngine extends Module {

    private static final Logger LOG = LoggerFactory.getLogger(DiffusionEngine.class);

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

    /** The scalar parameters. */
    public Params getParams() {
        return params;
    }

    /** The wrapped network ({@code self.model}). */
    public Module getModel() {
        return model;
    }

    /** The denoiser. */
    public Denoiser getDenoiser() {
        return denoiser;
    }

    /** The sampler, or null. */
    public BaseDiffusionSampler getSampler() {
        return sampler;
    }

    /** The conditioner. */
    public GeneralConditioner getConditioner() {
        return conditioner;
    }

    /** The first stage module. */
    public Module getFirstStageModel() {
        return firstStageModel;
    }

    /** The loss, or null. */
    public StandardDiffusionLoss getLossFn() {
        return lossFn;
    }

    /** The EMA, or null. */
    public LitEma getModelEma() {
        return modelEma;
    }

    /** The optimizer, once training started (or after {@link #configureOptimizers}). */
    public AdamW getOptimizer() {
        return optimizer;
    }

    /** The number of optimizer steps taken ({@code global_step}). */
    public long getGlobalStep() {
        return globalStep;
    }

    /** Sets the step counter (when resuming). */
    public void setGlobalStep(long step) {
        this.globalStep = step;
    }

    /** The base learning rate ({@code model.base_learning_rate} of the config; sgm's {@code learning_rate}). */
    public double getLearningRate() {
        return learningRate;
    }

    /** Sets the base learning rate. */
    public void setLearningRate(double lr) {
        if (!(lr >= 0)) {
            throw new IllegalArgumentException("learning rate must be >= 0, got " + lr);
        }
        this.learningRate = lr;
    }

    /** Clips the global gradient norm to {@code maxNorm} before each step (null: off, the default). */
    public void setGradClipNorm(Double maxNorm) {
        this.gradClipNorm = maxNorm;
    }

    /** The denoiser closure samplers call ({@code lambda input, sigma, c: denoiser(model, input, sigma, c)}). */
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
     * Allocates every tensor (PyTorch-like init for the network; EMA shadows copy it), then loads
     * {@code ckpt_path} when configured ({@code init_from_ckpt}: non-strict, missing/unexpected keys
     * reported).
     */
    @Override
    public void initialize(NDManager manager, NoiseSource noise) {
        super.initialize(manager, noise);
        if (params.ckptPath() != null) {
            initFromCkpt(Path.of(params.ckptPath()));
        }
    }

    /**
     * {@code init_from_ckpt(path)}: loads a {@code .safetensors} state dict non-strictly and logs the
     * missing and unexpected keys. A checkpoint that shares no key with this engine (another
     * architecture) or whose shapes differ is an error, never a silent half-load.
     */
    public LoadResult initFromCkpt(Path path) {
        if (!path.toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("init_from_ckpt: only .safetensors checkpoints are supported, got " + path);
        }
        // tensor by tensor from the memory-mapped file: the peak is the model plus one tensor
        try (SafeTensorsFile f = SafeTensors.open(path)) {
            Map<String, Parameter> entries = stateDictEntries();
            List<String> keys = f.keys();
            if (keys.stream().noneMatch(entries::containsKey)) {
                throw new IllegalArgumentException(path + " shares no key with this model (" + keys.size()
                        + " keys, e.g. " + keys.stream().limit(3).toList() + "): checkpoint of another architecture?");
            }
            List<String> missing = new ArrayList<>();
            List<String> mismatched = new ArrayList<>();
            for (Map.Entry<String, Parameter> e : entries.entrySet()) {
                if (!f.contains(e.getKey())) {
                    missing.add(e.getKey());
                } else {
                    Shape got = new Shape(f.info(e.getKey()).shape());
                    if (!got.equals(e.getValue().getShape())) {
                        mismatched.add(e.getKey() + ": expected " + e.getValue().getShape() + ", got " + got);
                    }
                }
            }
            List<String> unexpected = keys.stream().filter(k -> !entries.containsKey(k)).toList();
            LoadResult r = new LoadResult(missing, unexpected, mismatched);
            if (!mismatched.isEmpty()) {
                throw new StateDictException(getClass().getSimpleName(), r);
            }
            NDManager m = getManager();
            for (Map.Entry<String, Parameter> e : entries.entrySet()) {
                if (f.contains(e.getKey())) {
                    try (NDScope ignored = new NDScope(); NDArray v = f.load(e.getKey(), m)) {
                        e.getValue().setArray(v, m);
                    }
                }
            }
            LOG.info("Restored from {} with {} missing and {} unexpected keys", path, r.missingKeys().size(),
                    r.unexpectedKeys().size());
            if (!r.missingKeys().isEmpty()) {
                LOG.info("Missing Keys: {}", r.missingKeys());
            }
            if (!r.unexpectedKeys().isEmpty()) {
                LOG.info("Unexpected Keys: {}", r.unexpectedKeys());
            }
            return r;
        }
    }

    /**
     * Loads a state dict non-strictly; throws {@link IllegalArgumentException} when it matches none
     * of this engine's keys (a checkpoint of another architecture) and {@code StateDictException} on
     * shape mismatches.
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

    /** {@code encode_first_stage(x)}: {@code scale_factor * first_stage.encode(x)}, in chunks. */
    public NDArray encode(NDArray x, NoiseSource noise) {
        boolean prev = F.setGradEnabled(false);
        try {
            NDArray z = chunked(x, part -> firstStage.encode(part, noise));
            if (params.scaleFactor() == 1.0) {
                return z;
            }
            try (z) {
                return F.mul(z, params.scaleFactor());
            }
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /** {@code decode_first_stage(z)}: {@code first_stage.decode(z / scale_factor)}, in chunks. */
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
     * @param out the manager that owns the returned array
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

    /** The trainable parameters in {@code configure_optimizers} order: the network's, then trainable embedders'. */
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

    /** {@code configure_optimizers()}: AdamW over {@link #trainableParameters()} at the base learning rate. */
    public AdamW configureOptimizers() {
        if (optimizer == null) {
            AdamW.Params hp = optimizerParams;
            hp = new AdamW.Params(learningRate, hp.beta1(), hp.beta2(), hp.eps(), hp.weightDecay(), hp.amsgrad());
            optimizer = new AdamW(trainableParameters(), hp, getManager());
            for (Parameter p : trainableParameters().values()) {
                p.getArray().setRequiresGradient(true);
            }
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

        /** sgm's log dict: {@code loss}, {@code lr_abs}, {@code global_step}. */
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
     */
    public LossResult forwardBackward(Map<String, NDArray> batch, NoiseSource noise) {
        if (lossFn == null) {
            throw new IllegalStateException("this DiffusionEngine has no loss_fn_config: it cannot be trained");
        }
        NDArray input = batch.get(params.inputKey());
        if (input == null) {
            throw new IllegalArgumentException("training batch has no '" + params.inputKey() + "' (input_key); keys: "
                    + batch.keySet());
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
            NDArray x = encode(input, noise);
            NDArray[] losses = TrainingStep.forwardBackward(globalStep, () -> {
                Map<String, NDArray> cond = conditioner.forward(batch, noise);
                NDArray loss = lossFn.forward(network, denoiser, cond, x, batch, noise);
                return new NDArray[] {loss, loss.mean()};
            }, l -> l[1]);
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
                modelEma == null ? null : () -> modelEma.update(model));
        globalStep++;
        return lr;
    }

    // ------------------------------------------------------------------ EMA

    /**
     * {@code ema_scope()}: while open, the network holds the EMA weights; closing restores the
     * training weights (also when an exception leaves the block) and frees the stored copies. A
     * no-op without {@code use_ema}; a nested call while a scope is open returns a no-op scope.
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
}
