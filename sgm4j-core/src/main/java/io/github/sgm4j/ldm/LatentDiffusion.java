package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.config.Targets;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.FirstStage;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.UnaryModule;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.LrScheduler;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port of {@code ldm.models.diffusion.ddpm.LatentDiffusion}: a {@link DDPM} in the latent space of
 * a frozen first stage ({@code first_stage_model}, e.g. the KL {@link AutoencoderKL}), conditioned
 * through a {@code cond_stage_model} (trainable or frozen; the {@code __is_first_stage__} and {@code
 * __is_unconditional__} sentinels) and {@link DiffusionWrapper}'s {@code conditioning_key}.
 *
 * <p>Size: a port of ldm's {@code LatentDiffusion} (about 900 lines in the reference): first-stage
 * and conditioning-stage wiring, {@code scale_by_std}, conditioning keys and the latent training
 * step stay together as in ddpm.py; the schedule, sampling and loss math is shared with {@code DDPM}
 * and its parts; about half of the file is Javadoc.
 *
 * <p>Latents are {@code scale_factor * posterior.sample()}; decoding multiplies by {@code 1. /
 * scale_factor} (a double reciprocal for a float scale factor). With {@code scale_by_std} the factor
 * is a persistent 0-d buffer set by {@link #onTrainBatchStart} to 1 / the unbiased std of the first
 * batch's latent samples.
 *
 * <p>Conditionings ({@code c}) are Java objects like in the reference: an {@link NDArray}, or the
 * batch map ({@code Map<String, NDArray>}) for {@code cond_stage_key: class_label}.
 */
public class LatentDiffusion extends DDPM {

    private static final Logger LOG = LoggerFactory.getLogger(LatentDiffusion.class);

    /**
     * The LatentDiffusion arguments (the DDPM ones are in {@link DDPM.Params}).
     *
     * @param condStageKey batch key of the conditioning input ({@code image})
     * @param condStageTrainable whether the cond stage is trained (false; then it is frozen in eval mode)
     * @param scaleFactor latent scale (1.0)
     * @param scaleByStd set the scale from the first training batch (false)
     */
    public record LatentParams(String condStageKey, boolean condStageTrainable, double scaleFactor,
            boolean scaleByStd) {

        /**
         * ldm's defaults ({@code LatentDiffusion.__init__} keyword defaults).
         *
         * @return the default latent parameters
         */
        public static LatentParams defaults() {
            return new LatentParams("image", false, 1.0, false);
        }
    }

    /**
     * The result of {@link #getInput}: the scaled latent and the conditioning (or null). The caller
     * closes {@code z} (and {@code c} when it is a new NDArray).
     *
     * @param z the scaled latent {@code scale_factor * z}, [B, C_z, H/f, W/f]
     * @param c the encoded conditioning NDArray, the raw conditioning input when the cond stage is
     *     trainable (an NDArray or the batch map), or null for an unconditional model
     */
    public record Input(NDArray z, Object c) {}

    private final LatentParams latentParams;
    private final Module firstStageModel;
    private final Module condStageModel;
    private final Parameter scaleFactorBuffer;
    private boolean restartedFromCkpt;

    /**
     * Builds the model.
     *
     * @param params the DDPM parameters ({@code conditioning_key} already resolved)
     * @param latentParams the latent parameters
     * @param model the wrapped UNet
     * @param firstStageModel the first stage (implements {@link FirstStage}); frozen here
     * @param condStageModel the cond stage (the first stage itself for {@code __is_first_stage__}), or
     *     null for an unconditional model
     * @param scheduler the learning-rate schedule, or null
     * @throws IllegalArgumentException when the first stage does not implement {@link FirstStage}
     */
    public LatentDiffusion(Params params, LatentParams latentParams, DiffusionWrapper model, Module firstStageModel,
            Module condStageModel, LrScheduler scheduler) {
        super(params, model, scheduler);
        if (!(firstStageModel instanceof FirstStage)) {
            throw new IllegalArgumentException("LatentDiffusion: first stage " + firstStageModel.getClass().getName()
                    + " cannot encode/decode (does not implement FirstStage)");
        }
        if (latentParams.scaleByStd() && latentParams.scaleFactor() != 1.0) {
            LOG.warn("scale_by_std with scale_factor {} != 1: on_train_batch_start will refuse to rescale",
                    latentParams.scaleFactor());
        }
        this.latentParams = latentParams;
        this.scaleFactorBuffer = latentParams.scaleByStd()
                ? buffer("scale_factor", new Shape(), DataType.FLOAT32,
                        Init.values(new float[] {(float) latentParams.scaleFactor()}), true)
                : null;
        this.firstStageModel = register("first_stage_model", firstStageModel);
        firstStageModel.eval();
        firstStageModel.requiresGrad(false);
        this.condStageModel = condStageModel == null ? null : register("cond_stage_model", condStageModel);
        if (condStageModel != null && !latentParams.condStageTrainable()) {
            condStageModel.eval();
            condStageModel.requiresGrad(false);
        }
        setClipDenoised(false);
    }

    /**
     * Builds from {@code ldm.models.diffusion.ddpm.LatentDiffusion} params (the original YAML). A
     * cond stage whose target is not part of sgm4j (e.g. {@code FrozenCLIPEmbedder}) fails with a
     * {@link ConfigException} naming {@code ...cond_stage_config.target}. The model is not attached:
     * call {@code initialize} or {@code attach} before use.
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator for the UNet, first stage, cond stage and scheduler configs
     * @return the model
     * @throws ConfigException when a value is invalid or unsupported ({@code num_timesteps_cond != 1},
     *     {@code cond_stage_forward}, an unknown {@code conditioning_key}, ...)
     */
    public static LatentDiffusion fromConfig(ConfigNode p, Instantiator inst) {
        int numTimestepsCond = p.getInt("num_timesteps_cond", 1);
        if (numTimestepsCond != 1) {
            throw new ConfigException(p.pathOf("num_timesteps_cond"),
                    "only num_timesteps_cond 1 is supported (the shortened cond schedule is not), got " + numTimestepsCond);
        }
        if (!p.isNull("cond_stage_forward")) {
            throw new ConfigException(p.pathOf("cond_stage_forward"), "cond_stage_forward is not supported");
        }
        p.ignore("cond_stage_forward");
        boolean concatMode = p.getBoolean("concat_mode", true);
        String condKey = p.isNull("conditioning_key") ? (concatMode ? "concat" : "crossattn") : p.getString("conditioning_key");
        Targets.Sentinel sentinel = Instantiator.sentinel(p, "cond_stage_config");
        if (sentinel == Targets.Sentinel.UNCONDITIONAL) {
            condKey = null;
        }
        if (condKey != null && !DiffusionWrapper.CONDITIONING_KEYS.contains(condKey)) {
            throw new ConfigException(p.pathOf("conditioning_key"),
                    "expected concat, crossattn, hybrid or adm, got \"" + condKey + "\"");
        }
        p.ignore("conditioning_key", "concat_mode");
        Params params = readParams(p, condKey == null ? "" : condKey);
        if (condKey == null) {
            params = withConditioningKey(params, null);
        }
        boolean trainable = p.getBoolean("cond_stage_trainable", false);
        LatentParams lp = new LatentParams(p.getString("cond_stage_key", "image"), trainable,
                p.getDouble("scale_factor", 1.0), p.getBoolean("scale_by_std", false));
        LrScheduler scheduler = readScheduler(p, inst);
        DiffusionWrapper wrapper = buildWrapper(p, inst, condKey);
        Module firstStage = inst.instantiate(p.getNode("first_stage_config"), Module.class);
        Module condStage;
        if (sentinel != null) {
            p.ignore("cond_stage_config");
            if (trainable) {
                throw new ConfigException(p.pathOf("cond_stage_config"), sentinel.text()
                        + " cannot be combined with cond_stage_trainable: True");
            }
            condStage = sentinel == Targets.Sentinel.FIRST_STAGE ? firstStage : null;
        } else {
            condStage = inst.instantiate(p.getNode("cond_stage_config"), Module.class);
        }
        try {
            return new LatentDiffusion(params, lp, wrapper, firstStage, condStage, scheduler);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage(), e);
        }
    }

    private static Params withConditioningKey(Params d, String key) {
        return new Params(d.timesteps(), d.betaSchedule(), d.lossType(), d.useEma(), d.firstStageKey(), d.imageSize(),
                d.channels(), d.logEveryT(), d.clipDenoised(), d.linearStart(), d.linearEnd(), d.cosineS(),
                d.givenBetas(), d.originalElboWeight(), d.vPosterior(), d.lSimpleWeight(), key, d.parameterization(),
                d.learnLogvar(), d.logvarInit(), d.ckptPath(), d.ignoreKeys(), d.loadOnlyUnet());
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The latent parameters.
     *
     * @return the LatentDiffusion-specific parameters
     */
    public LatentParams getLatentParams() {
        return latentParams;
    }

    /**
     * The frozen first stage ({@code first_stage_model}).
     *
     * @return the first stage (a {@link FirstStage}; owned by this module)
     */
    public Module getFirstStageModel() {
        return firstStageModel;
    }

    /**
     * The cond stage ({@code cond_stage_model}).
     *
     * @return the cond stage (the first stage itself for {@code __is_first_stage__}), or null for an
     *     unconditional model
     */
    public Module getCondStageModel() {
        return condStageModel;
    }

    /**
     * The current scale factor.
     *
     * @return the float32 {@code scale_factor} buffer's value with {@code scale_by_std}, else {@code
     *     scale_factor} from the config
     * @throws IllegalStateException with {@code scale_by_std} before the buffer is allocated
     */
    public double getScaleFactor() {
        return scaleFactorBuffer == null ? latentParams.scaleFactor() : scaleFactorBuffer.getArray().getFloat();
    }

    /**
     * Marks the model as restored from a checkpoint ({@code restarted_from_ckpt}).
     *
     * @param restarted true to make {@link #onTrainBatchStart} keep the loaded scale factor
     */
    public void setRestartedFromCkpt(boolean restarted) {
        this.restartedFromCkpt = restarted;
    }

    @Override
    public void attach(NDManager manager) {
        super.attach(manager);
        if (scaleFactorBuffer != null && !scaleFactorBuffer.isInitialized()) {
            try (NDArray v = Tensors.scalar(manager, (float) latentParams.scaleFactor(), DataType.FLOAT32)) {
                scaleFactorBuffer.setArray(v, manager);
            }
        }
    }

    /**
     * {@code use_scheduler}: LatentDiffusion's {@code configure_optimizers} applies {@code
     * scheduler_config} per step.
     *
     * @return true
     */
    @Override
    protected boolean appliesScheduler() {
        return true;
    }

    /** Training mode for the network (and a trainable cond stage); the first stage stays in eval mode. */
    @Override
    public Module train(boolean mode) {
        super.train(mode);
        firstStageModel.eval();
        if (condStageModel != null && !latentParams.condStageTrainable()) {
            condStageModel.eval();
        }
        return this;
    }

    // ------------------------------------------------------------------ first stage

    /**
     * {@code encode_first_stage(x)}: the KL first stage's posterior, computed without gradients.
     *
     * @param x images [B, C, H, W] in [-1, 1]
     * @return the posterior over the unscaled latent; new arrays the caller closes (close the
     *     distribution)
     * @throws IllegalStateException when the first stage is not an {@link AutoencoderKL}
     */
    public DiagonalGaussianDistribution encodeFirstStage(NDArray x) {
        if (!(firstStageModel instanceof AutoencoderKL ae)) {
            throw new IllegalStateException("encode_first_stage: the first stage " + firstStageModel.getClass().getSimpleName()
                    + " has no posterior; use encodeToLatent");
        }
        boolean prev = F.setGradEnabled(false);
        try {
            return ae.posterior(x);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * {@code get_first_stage_encoding(posterior)}: {@code scale_factor * posterior.sample()}.
     *
     * @param posterior the first stage's posterior ({@link #encodeFirstStage}); not closed
     * @param noise the source of the sample's draw
     * @return the scaled latent [B, C_z, h, w], a new array the caller closes
     */
    public NDArray getFirstStageEncoding(DiagonalGaussianDistribution posterior, NoiseSource noise) {
        try (NDArray z = posterior.sample(noise)) {
            return scale(z);
        }
    }

    private NDArray scale(NDArray z) {
        return scaleFactorBuffer == null ? F.mul(z, (float) latentParams.scaleFactor()) : z.mul(scaleFactorBuffer.getArray());
    }

    /**
     * The scaled latent of {@code x} ({@code get_first_stage_encoding(encode_first_stage(x))}): a
     * posterior sample for a KL first stage, {@code encode(x)} otherwise; without gradients.
     *
     * @param x images [B, C, H, W] in [-1, 1]
     * @param noise the source of the posterior draw
     * @return the scaled latent [B, C_z, h, w], a new array the caller closes
     */
    public NDArray encodeToLatent(NDArray x, NoiseSource noise) {
        if (firstStageModel instanceof AutoencoderKL) {
            try (DiagonalGaussianDistribution posterior = encodeFirstStage(x)) {
                return getFirstStageEncoding(posterior, noise);
            }
        }
        boolean prev = F.setGradEnabled(false);
        try (NDArray z = ((FirstStage) firstStageModel).encode(x, noise)) {
            return scale(z);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * Whether {@code batch} carries cached posterior moments ({@link DiffusionEngine#LATENT_MEAN} and
     * {@link DiffusionEngine#LATENT_STD}, written by {@code sgm4j encode-dataset}) instead of the
     * images under {@code k}.
     *
     * @param batch the batch by key
     * @param k the image key ({@code first_stage_key})
     * @return true when {@code k} is absent and both moments are present
     */
    public static boolean hasCachedLatents(Map<String, NDArray> batch, String k) {
        return !batch.containsKey(k) && batch.containsKey(DiffusionEngine.LATENT_MEAN)
                && batch.containsKey(DiffusionEngine.LATENT_STD);
    }

    /**
     * The scaled latent of cached posterior moments: {@code scale_factor * (mean + std * randn)}, the
     * draw that {@code posterior.sample()} makes when the images are encoded, so a batch of cached
     * moments gives the latents that encoding its images gives with the same noise.
     *
     * @param mean the posterior means [B, C_z, h, w]
     * @param std the posterior standard deviations, the same shape
     * @param noise the source of the draw
     * @return the scaled latent, a new array the caller closes
     * @throws IllegalArgumentException when the shapes differ
     */
    public NDArray latentFromMoments(NDArray mean, NDArray std, NoiseSource noise) {
        if (!mean.getShape().equals(std.getShape())) {
            throw new IllegalArgumentException("cached latents: '" + DiffusionEngine.LATENT_MEAN + "' " + mean.getShape()
                    + " and '" + DiffusionEngine.LATENT_STD + "' " + std.getShape() + " differ");
        }
        boolean prev = F.setGradEnabled(false);
        try (NDArray eps = noise.randn(mean.getManager(), mean.getShape());
                NDArray epsOnDevice = eps.toDevice(mean.getDevice(), false);
                NDArray scaled = std.mul(epsOnDevice);
                NDArray z = mean.add(scaled)) {
            return scale(z);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    private NDArray latentOf(Map<String, NDArray> batch, String k, NoiseSource noise) {
        if (hasCachedLatents(batch, k)) {
            return latentFromMoments(batch.get(DiffusionEngine.LATENT_MEAN), batch.get(DiffusionEngine.LATENT_STD), noise);
        }
        return encodeToLatent(DDPM.getInput(batch, k), noise);
    }

    /**
     * {@code decode_first_stage(z)}: {@code first_stage.decode(1. / scale_factor * z)}, without
     * gradients.
     *
     * @param z a scaled latent [B, C_z, h, w]; not closed
     * @return the decoded images [B, C, H, W] (about [-1, 1]), a new array the caller closes
     */
    public NDArray decodeFirstStage(NDArray z) {
        boolean prev = F.setGradEnabled(false);
        NDArray scaled;
        if (scaleFactorBuffer == null) {
            scaled = F.mul(z, (float) (1. / latentParams.scaleFactor()));
        } else {
            // 1. / buffer: a float32 reciprocal
            scaled = F.mul(z, 1f / scaleFactorBuffer.getArray().getFloat());
        }
        try (scaled) {
            return ((FirstStage) firstStageModel).decode(scaled);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    // ------------------------------------------------------------------ conditioning

    /**
     * {@code get_learned_conditioning(c)}: {@code cond_stage_model.encode(c)} (a KL autoencoder: the
     * posterior mode) or {@code cond_stage_model(c)}; {@code c} is an NDArray, or the batch map for
     * a {@link ClassEmbedder}, or the prompts ({@code List<String>}) for a text encoder ({@code
     * FrozenCLIPEmbedder}, {@code FrozenOpenCLIPEmbedder}).
     *
     * @param c the conditioning input: an NDArray, the batch map for a {@link ClassEmbedder}, or a
     *     list of prompts for a text encoder
     * @return the conditioning (e.g. [B, C, h, w] for concat, [B, L, D] for cross-attention), a new
     *     array the caller closes
     * @throws IllegalStateException when the model is unconditional or the cond stage cannot be called
     * @throws IllegalArgumentException when {@code c} is not of the kind the cond stage expects
     */
    @SuppressWarnings("unchecked")
    public NDArray getLearnedConditioning(Object c) {
        if (condStageModel == null) {
            throw new IllegalStateException("get_learned_conditioning: this model is unconditional (no cond stage)");
        }
        if (condStageModel instanceof ClassEmbedder ce) {
            if (!(c instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("ClassEmbedder conditioning expects the batch map, got " + describe(c));
            }
            return ce.forward((Map<String, NDArray>) m);
        }
        if (condStageModel instanceof AbstractEmbModel emb) {
            // the frozen text encoders: c is the list of prompts (or token ids)
            java.util.List<NDArray> out = emb.embed(java.util.List.of(c));
            if (out.size() != 1) {
                out.forEach(NDArray::close);
                throw new IllegalStateException("get_learned_conditioning: " + emb.getClass().getSimpleName()
                        + " returned " + out.size() + " embeddings; the ldm cond stage must return one");
            }
            return out.get(0);
        }
        if (!(c instanceof NDArray x)) {
            throw new IllegalArgumentException(condStageModel.getClass().getSimpleName()
                    + " conditioning expects an NDArray, got " + describe(c));
        }
        if (condStageModel instanceof AutoencoderKL ae) {
            try (DiagonalGaussianDistribution d = ae.posterior(x)) {
                return F.alias(d.mode());
            }
        }
        if (condStageModel instanceof UnaryModule u) {
            return u.forward(x);
        }
        throw new IllegalStateException("cond stage " + condStageModel.getClass().getName() + " cannot be called");
    }

    private static String describe(Object c) {
        return c == null ? "null" : c.getClass().getSimpleName();
    }

    /**
     * {@code get_input(batch, k)}: the scaled latent of {@code batch[k]} (a posterior sample; from
     * cached moments when the batch has those instead of {@code batch[k]}, see {@link
     * #hasCachedLatents}) and the conditioning: {@code batch} itself for {@code class_label}, {@code
     * batch[cond_stage_key]} (channels-last rearranged) otherwise, the image for {@code
     * cond_stage_key == k}; encoded unless the cond stage is trainable (then {@link #forward} encodes
     * it).
     *
     * @param batch the batch by key (channels-last images)
     * @param k the image key ({@code first_stage_key})
     * @param noise the source of the posterior draw
     * @return the scaled latent and the conditioning; new arrays the caller closes
     * @throws IllegalArgumentException when a key is missing, a rank is not 3 or 4, or {@code
     *     cond_stage_key} is {@code caption}/{@code coordinates_bbox}
     */
    public Input getInput(Map<String, NDArray> batch, String k, NoiseSource noise) {
        NDArray x = hasCachedLatents(batch, k) ? null : DDPM.getInput(batch, k);
        NDArray z = x == null ? latentOf(batch, k, noise) : encodeToLatent(x, noise);
        Object c = null;
        if (getModel().getConditioningKey() != null) {
            String condKey = latentParams.condStageKey();
            Object xc;
            if (!condKey.equals(k)) {
                if (condKey.equals("caption") || condKey.equals("coordinates_bbox")) {
                    throw new IllegalArgumentException("cond_stage_key " + condKey
                            + " needs text/bbox inputs, which sgm4j batches (NDArray maps) do not carry");
                } else if (condKey.equals("class_label")) {
                    xc = batch;
                } else {
                    xc = DDPM.getInput(batch, condKey);
                }
            } else if (x == null) {
                throw new IllegalArgumentException("cond_stage_key '" + condKey + "' is the image key: conditioning on"
                        + " the images needs them, but the batch carries cached latents only");
            } else {
                xc = x;
            }
            if (!latentParams.condStageTrainable()) {
                boolean prev = F.setGradEnabled(false);
                try {
                    c = getLearnedConditioning(xc);
                } finally {
                    F.setGradEnabled(prev);
                }
            } else {
                c = xc;
            }
        }
        return new Input(z, c);
    }

    /** {@code shared_step(batch)}: {@code get_input} then {@link #forward}. */
    @Override
    public Losses sharedStep(Map<String, NDArray> batch, NoiseSource noise) {
        Input in = getInput(batch, params.firstStageKey(), noise);
        return forward(in.z(), in.c(), noise);
    }

    /**
     * {@code forward(x, c)}: {@code t = randint(0, T, (B,))}; a trainable cond stage encodes {@code c}
     * here; then {@link #pLosses(NDArray, NDArray, NDArray, NDArray, NoiseSource)}.
     *
     * @param x the scaled latent x_0, [B, C, H, W]
     * @param c the conditioning ({@link Input#c()}), or null for an unconditional model
     * @param noise the source of {@code t} and of the noise
     * @return the loss and loss dict, new arrays the caller closes
     * @throws IllegalArgumentException when a conditioning is needed but missing or not an NDArray
     */
    public Losses forward(NDArray x, Object c, NoiseSource noise) {
        NDArray t = noise.randint(x.getManager(), 0, numTimesteps(), new Shape(x.getShape().get(0)));
        NDArray cond = null;
        if (getModel().getConditioningKey() != null) {
            if (c == null) {
                throw new IllegalArgumentException("forward: conditioning_key " + getModel().getConditioningKey()
                        + " needs a conditioning");
            }
            if (latentParams.condStageTrainable()) {
                cond = getLearnedConditioning(c);
            } else if (c instanceof NDArray a) {
                cond = a;
            } else {
                throw new IllegalArgumentException("forward: expected an encoded conditioning NDArray, got " + describe(c));
            }
        }
        return pLosses(x, cond, t, null, noise);
    }

    /**
     * {@code LatentDiffusion.p_losses(x_start, cond, t, noise)}: {@code loss_simple / exp(logvar[t]) +
     * logvar[t]} averaged and weighted by {@code l_simple_weight}, plus {@code original_elbo_weight}
     * times the {@code lvlb_weights}-weighted term.
     *
     * @param xStart the scaled latent x_0, [B, C, H, W]
     * @param cond the encoded conditioning passed to {@link #applyModel}, or null
     * @param t the [B] int64 timesteps in [0, T)
     * @param noise the noise [B, C, H, W], or null to draw {@code randn_like(x_start)}
     * @param noiseSource the source of that draw
     * @return the loss and the {@code train/...} or {@code val/...} loss dict (plus {@code loss_gamma}
     *     and {@code logvar} with {@code learn_logvar}); new arrays the caller closes (intermediates
     *     are left to the arrays' manager: call it inside an {@code NDScope})
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public Losses pLosses(NDArray xStart, NDArray cond, NDArray t, NDArray noise, NoiseSource noiseSource) {
        NDArray n = noise != null ? noise : noiseSource.randnLike(xStart);
        NDArray xNoisy = qSample(xStart, t, n);
        NDArray modelOutput = applyModel(xNoisy, t, cond);
        Map<String, NDArray> lossDict = new LinkedHashMap<>();
        String prefix = logPrefix();
        NDArray target = "x0".equals(params.parameterization()) ? xStart : n;
        NDArray lossSimple = meanFlat(getLoss(modelOutput, target, false));
        lossDict.put(prefix + "/loss_simple", lossSimple.mean());
        NDArray logvarAll = logvar(xStart.getManager());
        NDArray logvarT = logvarAll.take(t.getManager(), t);
        NDArray loss = lossSimple.div(logvarT.exp()).add(logvarT);
        if (params.learnLogvar()) {
            lossDict.put(prefix + "/loss_gamma", loss.mean());
            lossDict.put("logvar", logvarAll.mean());
        }
        loss = F.mul(loss.mean(), (float) params.lSimpleWeight());
        NDArray lossVlb = meanFlat(getLoss(modelOutput, target, false));
        NDArray w = scheduleBuffer("lvlb_weights").take(t.getManager(), t);
        lossVlb = w.mul(lossVlb).mean();
        lossDict.put(prefix + "/loss_vlb", lossVlb);
        loss = loss.add(F.mul(lossVlb, (float) params.originalElboWeight()));
        lossDict.put(prefix + "/loss", loss);
        return new Losses(loss, lossDict);
    }

    /**
     * {@code p_mean_variance(x, c, t, clip_denoised)} with the conditioning.
     *
     * @param x x_t, [B, C, H, W]
     * @param c the conditioning passed to {@link #applyModel}, or null
     * @param t the [B] int64 timesteps in [0, T)
     * @param clip clamp the predicted x0 to [-1, 1]
     * @return the model posterior, new arrays the caller closes (close the record)
     * @throws IllegalArgumentException if {@code t} is not 1-D or a timestep is out of range
     */
    public MeanVariance pMeanVariance(NDArray x, NDArray c, NDArray t, boolean clip) {
        try (NDArray out = applyModel(x, t, c);
                PMeanVariance p = pMeanVarianceFromOutput(x, t, out, clip)) {
            MeanVariance mv = p.posterior();
            return new MeanVariance(mv.mean().duplicate(), mv.variance().duplicate(), mv.logVariance().duplicate());
        }
    }

    /**
     * {@code on_train_batch_start}: on the very first batch with {@code scale_by_std} (and not
     * restored from a checkpoint) sets the {@code scale_factor} buffer to {@code 1 / std} of the
     * unscaled latent samples of {@code batch[first_stage_key]} (unbiased std, one posterior draw;
     * from cached moments when the batch has those instead, see {@link #hasCachedLatents}).
     *
     * @param batch the batch by key
     * @param batchIdx the batch index in the epoch
     * @param globalStep the trainer's {@code global_step}
     * @param epoch the current epoch
     * @param noise the source of the posterior draw
     * @return whether the scale factor was set
     * @throws IllegalStateException when the scale factor is not 1 at that point
     */
    public boolean onTrainBatchStart(Map<String, NDArray> batch, int batchIdx, long globalStep, int epoch,
            NoiseSource noise) {
        if (!(latentParams.scaleByStd() && epoch == 0 && globalStep == 0 && batchIdx == 0 && !restartedFromCkpt)) {
            return false;
        }
        if (getScaleFactor() != 1.0) {
            throw new IllegalStateException("rather not use custom rescaling and std-rescaling simultaneously (scale_factor "
                    + getScaleFactor() + ")");
        }
        LOG.info("### USING STD-RESCALING ###");
        try (NDArray z = latentOf(batch, params.firstStageKey(), noise);
                NDArray flat = z.reshape(-1);
                NDArray mean = flat.mean();
                NDArray d = flat.sub(mean);
                NDArray sq = d.mul(d);
                NDArray sum = sq.sum();
                NDArray var = F.div(sum, (float) (flat.size() - 1));
                NDArray std = var.sqrt();
                NDArray inv = std.onesLike().div(std)) {
            scaleFactorBuffer.setArray(inv, getManager());
        }
        LOG.info("setting self.scale_factor to {}", getScaleFactor());
        return true;
    }

    /**
     * The trainable parameters: the network's, {@code logvar} when learned, and a trainable cond
     * stage's ({@code cond_stage_model.*}).
     *
     * @return a new map of names to the module's own parameters
     */
    @Override
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = super.trainableParameters();
        if (condStageModel != null && latentParams.condStageTrainable()) {
            for (Map.Entry<String, Parameter> e : condStageModel.namedParameters().entrySet()) {
                out.put("cond_stage_model." + e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /**
     * The DDPM sampling loop ({@code p_sample_loop}) in latent space, conditioned on {@code cond}.
     *
     * @param shape [B, C, H, W] of the latent
     * @param cond the encoded conditioning, or null
     * @param options {@code x_T}, {@code mask}/{@code x0}, {@code log_every_t} and the step callback
     * @param noise the source of every draw
     * @return the final latent and the kept intermediates (decode with {@link #decodeFirstStage});
     *     arrays the caller closes
     * @throws IllegalArgumentException when {@code options} asks for classifier-free guidance or the
     *     mask does not fit
     */
    public SampleResult sampleLatents(Shape shape, NDArray cond, SampleOptions options, NoiseSource noise) {
        return pSampleLoop(shape, cond, options, noise);
    }
}
