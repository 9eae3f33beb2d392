package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.ldm.ClassEmbedder;
import io.github.sgm4j.ldm.DDIMSampler;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.ldm.SampleOptions;
import io.github.sgm4j.ldm.SampleResult;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.EngineCheckpoint;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.models.IdentityFirstStage;
import io.github.sgm4j.modules.EmaScope;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ldm's {@link LatentDiffusion} as a {@link TrainableModel}: what ldm's {@code main.py} and
 * Lightning do around the model, one micro-batch at a time.
 *
 * <ul>
 *   <li>{@code configure_optimizers}: AdamW (torch defaults) at the given learning rate over the
 *       network, plus {@code cond_stage_model.*} with {@code cond_stage_trainable} and {@code logvar}
 *       with {@code learn_logvar} ({@link LatentDiffusion#trainableParameters()}); with {@code
 *       scheduler_config} the LambdaLR multiplier of the global step is applied before every update.
 *   <li>{@code on_train_batch_start}: {@code scale_by_std} sets {@code scale_factor} from the first
 *       micro-batch of a fresh run (global step 0); a run restored by {@link #resume} keeps the
 *       checkpoint's {@code scale_factor} buffer.
 *   <li>{@code on_train_batch_end}: the EMA update after every micro-batch ({@code model_ema.*}).
 *   <li>Lightning's {@code gradient_clip_val}: {@link #setGradClipNorm}.
 * </ul>
 *
 * <p>Batch layout: the {@code train.data} datasets give sgm's keys, images {@code jpg} as (B, C, H,
 * W) in [-1, 1] and class labels {@code cls} as (B,) int64. ldm reads its images channels-last from
 * {@code first_stage_key} and a {@code ClassEmbedder}'s labels from the embedder's own {@code key}
 * (e.g. {@code class_label}). So the adapter reports {@link #inputKey()} {@code jpg} and, for a class
 * conditioning, {@link #conditioningKeys()} {@code [cls]} (the data's vocabulary, which the {@link
 * Trainer} understands), and every micro-batch is mapped before ldm sees it: {@code jpg} permuted to
 * (B, H, W, C) under {@code first_stage_key}, {@code cls} copied to the embedder's key unless the
 * batch has that key already. Other conditioning keys ({@code cond_stage_key} not {@code
 * class_label}) are passed through unchanged, channels-last as ldm's {@code get_input} expects.
 * A batch of cached latents ({@code latent_mean}, {@code latent_std} from {@code sgm4j
 * encode-dataset}, no {@code jpg}) is passed on as it is: ldm's {@code get_input} then draws {@code
 * mean + std * randn} as the first stage's posterior sample would ({@link
 * LatentDiffusion#hasCachedLatents}).
 *
 * <p>Sample grids ({@link #sample}): DDIM with {@code eta = 1} (ldm's {@code log_images} default)
 * and 50 steps unless set otherwise ({@link #setSampling}, or the config's {@code
 * lightning.callbacks.image_logger.params.log_images_kwargs} {@code ddim_steps} / {@code ddim_eta}
 * in {@link #fromConfig}), in the EMA scope, decoded by the first stage. ldm's {@code ClassEmbedder}
 * has no unconditional class, so class-conditional grids are sampled without guidance.
 *
 * <p>Checkpoints ({@link #save}, {@link #resume}): the pair format of {@link EngineCheckpoint}: the
 * model file holds {@link LatentDiffusion#stateDict()} under ldm's keys ({@code
 * model.diffusion_model.*}, {@code model_ema.*}, {@code first_stage_model.*}, {@code
 * cond_stage_model.*}, the schedule buffers, {@code scale_factor} with {@code scale_by_std}, {@code
 * logvar} with {@code learn_logvar}), which the reference loads with {@code load_state_dict(sd,
 * strict=True)}; the trainer file holds the AdamW moments and step counts.
 *
 * <p>Not thread-safe: one training thread drives the adapter.
 */
public final class LdmTraining implements TrainableModel {

    /** DDIM steps of the sample grids unless configured. */
    public static final int DEFAULT_SAMPLE_STEPS = 50;

    /** DDIM eta of the sample grids unless configured (ldm's {@code log_images} default). */
    public static final double DEFAULT_SAMPLE_ETA = 1.0;

    /** The batch key of the images in the {@code train.data} datasets. */
    public static final String DATA_IMAGE_KEY = "jpg";

    /** The batch key of the class labels in the {@code train.data} datasets. */
    public static final String DATA_CLASS_KEY = "cls";

    private final LatentDiffusion model;
    private double learningRate;
    private AdamW optimizer;
    private long batchesSeen;
    private int sampleSteps = DEFAULT_SAMPLE_STEPS;
    private double sampleEta = DEFAULT_SAMPLE_ETA;
    private Double gradClipNorm;

    /**
     * Adapts {@code model}.
     *
     * @param model the model, its tensors allocated ({@code initialize})
     * @param learningRate the AdamW learning rate ({@code model.learning_rate}: {@code
     *     base_learning_rate}, scaled as {@code main.py} does when asked)
     * @throws IllegalArgumentException when the learning rate is negative or not finite
     */
    public LdmTraining(LatentDiffusion model, double learningRate) {
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + learningRate);
        }
        this.model = model;
        this.learningRate = learningRate;
    }

    /**
     * Whether the config's model is ldm's {@code LatentDiffusion}.
     *
     * @param root the config root
     * @return true for {@code target: ldm.models.diffusion.ddpm.LatentDiffusion} (or sgm4j's class)
     */
    public static boolean isLatentDiffusion(ConfigNode root) {
        ConfigNode m = EngineLoader.modelNode(root);
        if (!m.has("target")) {
            return false;
        }
        String t = String.valueOf(m.asMap().get("target"));
        return t.equals("ldm.models.diffusion.ddpm.LatentDiffusion") || t.equals(LatentDiffusion.class.getName());
    }

    /**
     * Builds the config's {@code LatentDiffusion} through the {@link Instantiator}, allocates it in
     * {@code manager} (initialised from {@code seed}; {@code ckpt_path}s are loaded) and reads the
     * sample-grid settings of {@code lightning.callbacks.image_logger.params.log_images_kwargs}.
     *
     * @param root the config root
     * @param manager the manager of the model's tensors
     * @param seed the initialisation seed
     * @param learningRate the AdamW learning rate
     * @return the adapter
     * @throws io.github.sgm4j.config.ConfigException when the model section is invalid or not a
     *     LatentDiffusion
     */
    public static LdmTraining fromConfig(ConfigNode root, NDManager manager, long seed, double learningRate) {
        ConfigNode node = EngineLoader.modelNode(root);
        if (!isLatentDiffusion(root)) {
            throw new io.github.sgm4j.config.ConfigException(node.pathOf("target"),
                    "expected ldm.models.diffusion.ddpm.LatentDiffusion");
        }
        LatentDiffusion m = new Instantiator().instantiate(node, LatentDiffusion.class);
        m.initialize(manager, new TorchNoiseSource(seed));
        LdmTraining t = new LdmTraining(m, learningRate);
        ConfigNode kw = logImagesKwargs(root);
        if (kw != null) {
            t.setSampling(kw.getInt("ddim_steps", DEFAULT_SAMPLE_STEPS), kw.getDouble("ddim_eta", DEFAULT_SAMPLE_ETA));
        }
        return t;
    }

    private static ConfigNode logImagesKwargs(ConfigNode root) {
        if (root.isNode("lightning") && root.getNode("lightning").isNode("callbacks")
                && root.getNode("lightning").getNode("callbacks").isNode("image_logger")) {
            ConfigNode p = root.getNode("lightning").getNode("callbacks").getNode("image_logger").getNodeOrEmpty("params");
            return p.isNode("log_images_kwargs") ? p.getNode("log_images_kwargs") : null;
        }
        return null;
    }

    /**
     * Sets the DDIM settings of the sample grids.
     *
     * @param steps DDIM steps, at least 1
     * @param eta DDIM eta, at least 0
     * @throws IllegalArgumentException when a value is out of range
     */
    public void setSampling(int steps, double eta) {
        if (steps < 1 || !(eta >= 0)) {
            throw new IllegalArgumentException("ddim_steps must be >= 1 and ddim_eta >= 0, got " + steps + ", " + eta);
        }
        this.sampleSteps = steps;
        this.sampleEta = eta;
    }

    /**
     * Sets Lightning's {@code gradient_clip_val} (norm clipping of all trainable gradients before
     * every update).
     *
     * @param maxNorm the maximum global gradient norm, or null for none
     * @throws IllegalArgumentException when {@code maxNorm} is not positive
     */
    public void setGradClipNorm(Double maxNorm) {
        if (maxNorm != null && !(maxNorm > 0)) {
            throw new IllegalArgumentException("gradient_clip_val must be > 0, got " + maxNorm);
        }
        this.gradClipNorm = maxNorm;
    }

    /**
     * The adapted model.
     *
     * @return the model
     */
    public LatentDiffusion model() {
        return model;
    }

    /**
     * The AdamW learning rate (before the scheduler's multiplier).
     *
     * @return the base learning rate
     */
    public double learningRate() {
        return learningRate;
    }

    /**
     * {@code configure_optimizers()}: AdamW with torch's defaults at {@link #learningRate()} over
     * {@link LatentDiffusion#trainableParameters()}; built once, then returned as is.
     *
     * @return the optimizer
     */
    public AdamW configureOptimizers() {
        if (optimizer == null) {
            optimizer = new AdamW(model.trainableParameters(), AdamW.Params.withLr(learningRate), model.getManager());
        }
        return optimizer;
    }

    @Override
    public NDManager getManager() {
        return model.getManager();
    }

    @Override
    public long getGlobalStep() {
        return model.getGlobalStep();
    }

    /** The data's image key {@code jpg} (mapped to {@code first_stage_key} per micro-batch). */
    @Override
    public String inputKey() {
        return DATA_IMAGE_KEY;
    }

    /**
     * The conditioning's batch keys in the data's vocabulary: {@code [cls]} for a {@code
     * ClassEmbedder}, none for an unconditional model or a conditioning on the images themselves,
     * else {@code [cond_stage_key]}.
     */
    @Override
    public List<String> conditioningKeys() {
        if (model.getModel().getConditioningKey() == null) {
            return List.of();
        }
        if (model.getCondStageModel() instanceof ClassEmbedder) {
            return List.of(DATA_CLASS_KEY);
        }
        String key = model.getLatentParams().condStageKey();
        return key.equals(model.getParams().firstStageKey()) ? List.of() : List.of(key);
    }

    /** {@code n_classes} of ldm's {@code ClassEmbedder}, else 0. */
    @Override
    public int numClasses() {
        return model.getModel().getConditioningKey() != null && model.getCondStageModel() instanceof ClassEmbedder ce
                ? ce.numClasses() : 0;
    }

    /**
     * The first stage's downsampling factor.
     *
     * @throws IllegalStateException for a first stage of unknown factor
     */
    @Override
    public int downsamplingFactor() {
        Module fs = model.getFirstStageModel();
        if (fs instanceof AutoencoderKL vae) {
            return vae.getDDConfig().downsamplingFactor();
        }
        if (fs instanceof IdentityFirstStage) {
            return 1;
        }
        throw new IllegalStateException("the downsampling factor of first stage " + fs.getClass().getName()
                + " is unknown (AutoencoderKL and IdentityFirstStage are supported)");
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return model.trainableParameters();
    }

    /**
     * {@code on_train_batch_start} (the {@code scale_by_std} rescaling on the first micro-batch of a
     * fresh run, one posterior draw from {@code noise}), then {@link
     * LatentDiffusion#forwardBackward} of the mapped batch (see the class comment).
     *
     * @throws IllegalArgumentException when the batch has no {@code jpg} images, or no {@code cls}
     *     labels for a class-conditional model
     */
    @Override
    public StepLoss forwardBackward(Map<String, ?> batch, NoiseSource noise, double lossScale) {
        configureOptimizers();
        Map<String, NDArray> b = ldmBatch(batch);
        int batchIdx = batchesSeen == 0 ? 0 : 1;
        model.onTrainBatchStart(b, batchIdx, model.getGlobalStep(), 0, noise);
        batchesSeen++;
        Map<String, Double> logs = model.forwardBackward(b, noise, lossScale);
        double loss = logs.remove("loss");
        return new StepLoss(loss, logs);
    }

    /**
     * The batch as ldm reads it: {@code jpg} (B, C, H, W) as channels-last {@code first_stage_key},
     * {@code cls} under the {@code ClassEmbedder}'s key when absent; other arrays unchanged (cached
     * posterior moments {@code latent_mean}/{@code latent_std} of {@code sgm4j encode-dataset} are
     * used instead of the images when the batch has no {@code jpg}).
     *
     * @param batch the data's batch (arrays; caption lists are dropped)
     * @return a new map; the permuted images are new arrays in the images' manager
     * @throws IllegalArgumentException when {@code jpg} or the labels are missing
     */
    public Map<String, NDArray> ldmBatch(Map<String, ?> batch) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        batch.forEach((k, v) -> {
            if (v instanceof NDArray a) {
                out.put(k, a);
            }
        });
        String fsk = model.getParams().firstStageKey();
        // cached posterior moments (sgm4j encode-dataset) stand for the images
        boolean cached = !(batch.get(DATA_IMAGE_KEY) instanceof NDArray) && LatentDiffusion.hasCachedLatents(out, fsk);
        if (!cached) {
            if (!(batch.get(DATA_IMAGE_KEY) instanceof NDArray images) || images.getShape().dimension() != 4) {
                throw new IllegalArgumentException("training batch has no (B, C, H, W) '" + DATA_IMAGE_KEY + "' images"
                        + " and no cached latents (keys: " + batch.keySet() + "); the images become ldm's channels-last"
                        + " first_stage_key '" + fsk + "'");
            }
            out.remove(DATA_IMAGE_KEY);
            out.put(fsk, images.transpose(0, 2, 3, 1));
        }
        if (model.getModel().getConditioningKey() != null && model.getCondStageModel() instanceof ClassEmbedder ce
                && !out.containsKey(ce.getKey())) {
            if (!(batch.get(DATA_CLASS_KEY) instanceof NDArray labels)) {
                throw new IllegalArgumentException("the ClassEmbedder reads labels '" + ce.getKey() + "', but the training"
                        + " batch has neither it nor '" + DATA_CLASS_KEY + "' (keys: " + batch.keySet() + ")");
            }
            out.put(ce.getKey(), labels);
        }
        return out;
    }

    /** {@code on_train_batch_end} of an accumulating micro-batch: the EMA update. */
    @Override
    public void onMicroBatchEnd() {
        try (GradMode ignored = GradMode.disabled()) {
            model.onTrainBatchEnd();
        }
    }

    @Override
    public double optimizerStep() {
        return model.optimizerStep(configureOptimizers(), gradClipNorm);
    }

    /**
     * Writes the checkpoint pair ({@link EngineCheckpoint#writePair}): the model's state dict under
     * ldm's keys with the global step, seed, learning rate and {@code metadata}; the AdamW state once
     * an optimizer exists.
     */
    @Override
    public void save(Path checkpoint, long seed, Map<String, String> metadata) {
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("format", "pt");
        meta.put(Checkpoints.GLOBAL_STEP, Long.toString(model.getGlobalStep()));
        meta.put(Checkpoints.SEED, Long.toString(seed));
        meta.put(Checkpoints.LEARNING_RATE, Double.toString(learningRate));
        try {
            EngineCheckpoint.writePair(checkpoint, model.stateDict(), optimizer, meta, Checkpoints.tempWriter);
        } catch (EngineCheckpoint.NonFiniteTensorException e) {
            if (e instanceof Checkpoints.NonFiniteTensorException) {
                throw e;
            }
            throw new Checkpoints.NonFiniteTensorException(e);
        }
    }

    /**
     * Restores a checkpoint written by {@link #save} to continue training: the weights strictly (the
     * EMA, {@code scale_factor} and every other key must match; every value finite), the global step
     * and learning rate, {@code restarted_from_ckpt} (so {@code scale_by_std} keeps the loaded
     * factor), then, unless {@code resetOptimizer}, the AdamW moments and step counts. Call it before
     * the first training step.
     *
     * @param checkpoint the model file
     * @param resetOptimizer start the optimizer from scratch: the trainer file may be missing
     * @return the seed recorded in the checkpoint, or null
     * @throws io.github.sgm4j.models.CheckpointException when the checkpoint is missing, when the
     *     trainer file is missing (without {@code resetOptimizer}) or records another global step
     * @throws EngineCheckpoint.NonFiniteTensorException when a tensor holds NaN or infinity
     * @throws io.github.sgm4j.nn.StateDictException when the keys or shapes do not match exactly
     * @throws IllegalStateException when training already started in this adapter
     */
    public Long resume(Path checkpoint, boolean resetOptimizer) {
        if (batchesSeen > 0) {
            throw new IllegalStateException("resume " + checkpoint + ": this adapter already trained " + batchesSeen
                    + " micro-batches; resume into a fresh one");
        }
        Map<String, String> meta = Checkpoints.checkResumable(checkpoint, resetOptimizer);
        try (NDScope ignored = new NDScope();
                SafeTensorsFile f = SafeTensors.open(checkpoint)) {
            Map<String, NDArray> sd = f.loadAll(model.getManager());
            EngineCheckpoint.requireFinite(checkpoint, sd);
            model.loadStateDict(sd, true);
        }
        model.setRestartedFromCkpt(true);
        if (meta.containsKey(Checkpoints.GLOBAL_STEP)) {
            model.setGlobalStep(Long.parseLong(meta.get(Checkpoints.GLOBAL_STEP)));
        }
        if (meta.containsKey(Checkpoints.LEARNING_RATE)) {
            learningRate = Double.parseDouble(meta.get(Checkpoints.LEARNING_RATE));
        }
        optimizer = null;
        if (!resetOptimizer) {
            EngineCheckpoint.loadOptimizerState(Checkpoints.trainerFile(checkpoint), configureOptimizers(),
                    model.getManager());
        }
        return meta.containsKey(Checkpoints.SEED) ? Long.parseLong(meta.get(Checkpoints.SEED)) : null;
    }

    /**
     * DDIM samples ({@link #setSampling}; no guidance) in the EMA scope and eval mode, decoded to
     * pixels. The conditioning: {@code cls} labels (a list of integers or a (n,) array) for a
     * class-conditional model, nothing for an unconditional one.
     *
     * @throws IllegalArgumentException when a class-conditional model gets no {@code cls} of {@code n}
     *     labels
     * @throws IllegalStateException for other conditionings (sample grids of those are not supported)
     */
    @Override
    public NDArray sample(Map<String, Object> conditioning, int n, int imageSize, long seed) {
        int f = downsamplingFactor();
        if (imageSize % f != 0) {
            throw new IllegalArgumentException("image size " + imageSize + " is not a multiple of the first stage's"
                    + " downsampling factor " + f);
        }
        Map<Module, Boolean> modes = model.trainingModes();
        try (EmaScope ema = model.emaScope(); GradMode ignored = GradMode.disabled()) {
            model.eval();
            NDArray c = null;
            if (model.getModel().getConditioningKey() != null) {
                if (!(model.getCondStageModel() instanceof ClassEmbedder ce)) {
                    throw new IllegalStateException("sample grids of cond_stage_key '"
                            + model.getLatentParams().condStageKey() + "' (" + model.getCondStageModel().getClass()
                                    .getSimpleName() + ") are not supported; only class-conditional and unconditional"
                            + " LatentDiffusion models");
                }
                c = model.getLearnedConditioning(Map.of(ce.getKey(), labels(conditioning.get(DATA_CLASS_KEY), n)));
            }
            int side = imageSize / f;
            SampleResult r = new DDIMSampler(model).sample(sampleSteps, n,
                    new Shape(model.getParams().channels(), side, side), c,
                    SampleOptions.defaults().eta(sampleEta), new TorchNoiseSource(seed));
            return model.decodeFirstStage(r.samples());
        } finally {
            Module.restoreTrainingModes(modes);
        }
    }

    private NDArray labels(Object cls, int n) {
        NDArray out;
        if (cls instanceof NDArray a) {
            out = a;
        } else if (cls instanceof List<?> l && l.stream().allMatch(Number.class::isInstance)) {
            out = Tensors.create(model.getManager(), l.stream().mapToLong(x -> ((Number) x).longValue()).toArray());
        } else {
            throw new IllegalArgumentException("class-conditional sampling needs '" + DATA_CLASS_KEY
                    + "' labels (a list of integers or an array), got " + (cls == null ? "none" : cls.getClass().getSimpleName()));
        }
        if (out.getShape().dimension() != 1 || out.getShape().get(0) != n) {
            throw new IllegalArgumentException("class-conditional sampling of " + n + " images needs " + n + " '"
                    + DATA_CLASS_KEY + "' labels, got shape " + out.getShape());
        }
        return out;
    }
}
