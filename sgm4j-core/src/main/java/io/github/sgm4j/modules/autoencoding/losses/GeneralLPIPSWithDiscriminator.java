package io.github.sgm4j.modules.autoencoding.losses;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator;
import io.github.sgm4j.modules.autoencoding.lpips.VqPerceptual;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Port of sgm's {@code sgm.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator}, the loss
 * of sgm's {@code AutoencodingEngine}. Keys: {@code logvar} (0-d, trained by the autoencoder's
 * optimizer when {@code learn_logvar}), {@code perceptual_loss.*} ({@link LPIPS}, frozen, built in
 * eval mode) and {@code discriminator.*} (from {@code discriminator_config}, by default an {@link
 * NLayerDiscriminator}, with {@code weights_init} applied).
 *
 * <p>Optimizer 0 (generator): {@code rec = |x - x̂| + perceptual_weight * LPIPS(x, x̂)}, {@code nll =
 * rec / exp(logvar) + logvar} summed / B; from {@code disc_start} on (or in eval mode) {@code g =
 * -mean(D(x̂))} with the adaptive weight {@link #calculateAdaptiveWeight} (1 in eval mode), before it
 * {@code g} and {@code d_weight} are 0; {@code loss = weighted_nll + d_weight * disc_factor * g +
 * Σ regularization_weights[k] * regularization_log[k]}. Optimizer 1: {@code disc_factor *
 * disc_loss(D(x), D(x̂))} on detached inputs from {@code disc_start} on; before it the
 * discriminator still runs (its logits are logged, BatchNorm statistics move) but the loss is a
 * constant without a graph ({@link Output#differentiable()} false: torch's optimizer then skips
 * every parameter). Unlike ldm's loss, {@code disc_factor} is not switched by {@code adopt_weight}
 * and there is no KL term of its own (the KL arrives through {@code regularization_log}).
 *
 * <p>{@code dims > 2} folds frames into the batch ({@code b c t h w -> (b t) c h w}) before every
 * term. {@code scale_input_to_tgt_size} (bicubic antialiased resize) is not ported: a config
 * asking for it is rejected.
 *
 * <p>Size: one reference loss class (both optimizer branches, the adaptive weight, config and
 * pretrained-LPIPS wiring); splitting it would scatter one formula over files.
 */
public class GeneralLPIPSWithDiscriminator extends Module {

    /** The reference's {@code discriminator_config} default target. */
    public static final String DEFAULT_DISCRIMINATOR = "sgm.modules.autoencoding.lpips.model.model.NLayerDiscriminator";

    /**
     * Constructor arguments with sgm's defaults.
     *
     * @param discStart first global step with the GAN terms ({@code disc_start}, required)
     * @param logvarInit initial log-variance (0.0)
     * @param discFactor GAN factor (1.0)
     * @param discWeight multiplier of the adaptive weight (1.0)
     * @param perceptualWeight LPIPS weight (1.0; 0 skips LPIPS)
     * @param discLoss {@code hinge} or {@code vanilla} ("hinge")
     * @param dims 2 for images, more for video (frames folded into the batch) (2)
     * @param learnLogvar whether {@code logvar} is trained (false)
     * @param regularizationWeights weights of regularizer log entries added to the loss ({})
     * @param additionalLogKeys regularizer log entries to log (besides those weighted) ([])
     */
    public record Params(long discStart, double logvarInit, double discFactor, double discWeight,
            double perceptualWeight, String discLoss, int dims, boolean learnLogvar,
            Map<String, Double> regularizationWeights, List<String> additionalLogKeys) {
        /**
         * Validates like the reference ({@code assert disc_loss in ["hinge", "vanilla"]}).
         *
         * @param discStart the first global step of the GAN terms
         * @param logvarInit the initial output log-variance
         * @param discFactor the GAN factor
         * @param discWeight the adaptive weight's multiplier
         * @param perceptualWeight the LPIPS weight
         * @param discLoss {@code hinge} or {@code vanilla}
         * @param dims 2 or more
         * @param learnLogvar whether {@code logvar} is trained
         * @param regularizationWeights regularizer log weights (copied)
         * @param additionalLogKeys regularizer log keys to log (copied)
         * @throws IllegalArgumentException for an unknown {@code disc_loss} or {@code dims < 2}
         */
        public Params {
            VqPerceptual.discLoss(discLoss);
            if (dims < 2) {
                throw new IllegalArgumentException("GeneralLPIPSWithDiscriminator: dims must be >= 2, got " + dims);
            }
            regularizationWeights = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(regularizationWeights));
            additionalLogKeys = List.copyOf(additionalLogKeys);
        }

        /**
         * sgm's defaults with the given {@code disc_start}.
         *
         * @param discStart first step with the GAN terms
         * @return the params
         */
        public static Params defaults(long discStart) {
            return new Params(discStart, 0.0, 1.0, 1.0, 1.0, "hinge", 2, false, Map.of(), List.of());
        }
    }

    /**
     * The loss and its log dict ({@code <split>/loss/total}, ... as in the reference).
     *
     * @param loss the 0-d loss
     * @param log detached 0-d values by name, in the reference's order
     * @param differentiable false when the loss is the reference's fresh leaf {@code
     *     torch.tensor(0.0, requires_grad=True)} (the discriminator step before {@code disc_start}):
     *     its backward reaches no parameter, so no parameter gets a gradient
     */
    public record Output(NDArray loss, Map<String, NDArray> log, boolean differentiable) {}

    private final Params params;
    private final Parameter logvar;
    private final LPIPS perceptualLoss;
    private java.nio.file.Path pretrainedLpips;
    private final Module discriminator;
    private final VqPerceptual.DiscLoss discLossFn;
    private final Set<String> additionalLogKeys;

    /**
     * Builds the loss with the default discriminator ({@code NLayerDiscriminator(input_nc, 64,
     * n_layers, use_actnorm=False)} with {@code weights_init}).
     *
     * @param params the arguments
     * @param discNumLayers {@code disc_num_layers} (3)
     * @param discInChannels {@code disc_in_channels} (3)
     */
    public GeneralLPIPSWithDiscriminator(Params params, int discNumLayers, int discInChannels) {
        this(params, NLayerDiscriminator.weightsInit(new NLayerDiscriminator(
                new NLayerDiscriminator.Params(discInChannels, 64, discNumLayers, false))));
    }

    /**
     * Builds the loss around a discriminator (to which the caller has applied {@code weights_init}).
     *
     * @param params the arguments
     * @param discriminator the discriminator, a single-input module returning logits
     * @throws IllegalArgumentException if the discriminator is not a single-input module
     */
    public GeneralLPIPSWithDiscriminator(Params params, Module discriminator) {
        if (!(discriminator instanceof io.github.sgm4j.nn.UnaryModule)) {
            throw new IllegalArgumentException("discriminator " + discriminator.getClass().getSimpleName()
                    + " is not a single-input module");
        }
        this.params = params;
        if (params.perceptualWeight() > 0) {
            this.perceptualLoss = register("perceptual_loss", new LPIPS());
            perceptualLoss.eval();
        } else {
            this.perceptualLoss = null;
        }
        double init = params.logvarInit();
        this.logvar = parameter("logvar", new Shape(), (m, s, d, n) -> Tensors.scalar(m, init, d));
        logvar.setRequiresGrad(params.learnLogvar());
        this.discriminator = register("discriminator", discriminator);
        this.discLossFn = VqPerceptual.discLoss(params.discLoss());
        Set<String> keys = new LinkedHashSet<>(params.additionalLogKeys());
        keys.addAll(params.regularizationWeights().keySet());
        this.additionalLogKeys = java.util.Collections.unmodifiableSet(keys);
    }

    /**
     * Builds from {@code sgm.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator} params.
     *
     * @param p the params node
     * @param inst the instantiator (for {@code discriminator_config})
     * @return the loss (LPIPS weights still to be loaded)
     * @throws ConfigException for an unknown {@code disc_loss}, {@code dims < 2}, {@code
     *     scale_input_to_tgt_size: true} (not ported) or a bad {@code discriminator_config}
     */
    public static GeneralLPIPSWithDiscriminator fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(0);
        String discLoss = p.getString("disc_loss", d.discLoss());
        if (!discLoss.equals("hinge") && !discLoss.equals("vanilla")) {
            throw new ConfigException(p.pathOf("disc_loss"), "expected 'hinge' or 'vanilla', got '" + discLoss + "'");
        }
        if (p.getBoolean("scale_input_to_tgt_size", false)) {
            throw new ConfigException(p.pathOf("scale_input_to_tgt_size"),
                    "resizing the inputs to the reconstruction size (bicubic, antialiased) is not ported; "
                            + "feed inputs of the reconstruction's size and set it to false");
        }
        int dims = p.getInt("dims", d.dims());
        if (dims < 2) {
            throw new ConfigException(p.pathOf("dims"), "expected 2 (images) or more (video), got " + dims);
        }
        Map<String, Double> regWeights = new LinkedHashMap<>();
        ConfigNode rw = p.getNodeOrNull("regularization_weights");
        if (rw != null) {
            for (String k : rw.keys()) {
                regWeights.put(k, rw.getDouble(k));
            }
        }
        List<String> extraKeys = p.getStringList("additional_log_keys", List.of());
        Params params = new Params(p.getLong("disc_start"), p.getDouble("logvar_init", d.logvarInit()),
                p.getDouble("disc_factor", d.discFactor()), p.getDouble("disc_weight", d.discWeight()),
                p.getDouble("perceptual_weight", d.perceptualWeight()), discLoss, dims,
                p.getBoolean("learn_logvar", d.learnLogvar()), regWeights, extraKeys);
        int numLayers = p.getInt("disc_num_layers", 3);
        int inChannels = p.getInt("disc_in_channels", 3);
        ConfigNode dc = p.getNodeOrNull("discriminator_config");
        if (dc != null) {
            Module disc = inst.instantiate(dc, Module.class);
            if (!(disc instanceof io.github.sgm4j.nn.UnaryModule)) {
                throw new ConfigException(p.pathOf("discriminator_config"), "the discriminator "
                        + disc.getClass().getSimpleName() + " is not a single-input module");
            }
            return withLpipsDir(new GeneralLPIPSWithDiscriminator(params, NLayerDiscriminator.weightsInit(disc)), p);
        }
        return withLpipsDir(new GeneralLPIPSWithDiscriminator(params, numLayers, inChannels), p);
    }

    private static GeneralLPIPSWithDiscriminator withLpipsDir(GeneralLPIPSWithDiscriminator loss, ConfigNode p) {
        String dir = p.getString("lpips_dir", null);
        if (loss.perceptualLoss != null) {
            loss.pretrainedLpips = io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights.directory(dir);
        } else {
            org.slf4j.LoggerFactory.getLogger(GeneralLPIPSWithDiscriminator.class).info(
                    "{}: perceptual_weight is 0: LPIPS is off (not built, no loss.perceptual_loss.* keys)", p.path());
        }
        return loss;
    }

    /**
     * Allocates the tensors, then loads the pretrained LPIPS weights for a loss built from a config
     * with {@code perceptual_weight > 0} ({@link #loadPretrainedLpips}).
     *
     * @param manager the manager that will own the arrays
     * @param noise the source of the initialisers' draws
     * @throws io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights.MissingWeightsException naming
     *     the missing file and its directory
     */
    @Override
    public void initialize(ai.djl.ndarray.NDManager manager, io.github.sgm4j.noise.NoiseSource noise) {
        super.initialize(manager, noise);
        loadPretrainedLpips();
    }

    /**
     * Loads the pretrained LPIPS weights ({@code lpips_dir}, {@code SGM4J_LPIPS_DIR} or {@code
     * ~/.cache/sgm4j/lpips}) when this loss was built from a config with {@code perceptual_weight >
     * 0}; no-op otherwise. A parent that allocates this loss within its tree calls it afterwards.
     *
     * @throws io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights.MissingWeightsException naming
     *     the missing file and its directory
     */
    public void loadPretrainedLpips() {
        if (pretrainedLpips != null) {
            io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights.load(perceptualLoss, pretrainedLpips);
        }
    }

    /**
     * {@code get_trainable_parameters()}: the discriminator's parameters (optimizer 1).
     *
     * @return the parameters by key relative to this loss ({@code discriminator.*})
     */
    public Map<String, Parameter> getTrainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        discriminator.namedParameters().forEach((k, v) -> out.put("discriminator." + k, v));
        return out;
    }

    /**
     * {@code get_trainable_autoencoder_parameters()}: {@code logvar} when {@code learn_logvar}.
     *
     * @return the parameters by key relative to this loss ({@code logvar} or nothing)
     */
    public Map<String, Parameter> getTrainableAutoencoderParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        if (params.learnLogvar()) {
            out.put("logvar", logvar);
        }
        return out;
    }

    /**
     * {@code calculate_adaptive_weight}: {@code clamp(|∇nll| / (|∇g| + 1e-4), 0, 1e4) *
     * disc_weight}, detached, both gradients taken w.r.t. {@code lastLayer} from the retained graph
     * (see {@link LPIPSWithDiscriminator#grad} for the side effect on other leaves).
     *
     * @param nllLoss the 0-d nll loss
     * @param gLoss the 0-d generator loss
     * @param lastLayer the decoder's last weight ({@code decoder.conv_out.weight}), requiring grad
     * @return the 0-d weight
     */
    public NDArray calculateAdaptiveWeight(NDArray nllLoss, NDArray gLoss, NDArray lastLayer) {
        return LPIPSWithDiscriminator.adaptiveWeight(nllLoss, gLoss, out -> LPIPSWithDiscriminator.grad(out, lastLayer),
                params.discWeight());
    }

    /**
     * {@code forward(inputs, reconstructions, regularization_log=..., optimizer_idx=...,
     * global_step=..., last_layer=..., split=..., weights=...)}.
     *
     * @param inputs images [B, C, H, W] (or [B, C, T, H, W] with {@code dims} 3)
     * @param reconstructions decoded images, same shape
     * @param regularizationLog the regularizer's log (e.g. {@code kl_loss}), 0-d arrays; read, not closed
     * @param optimizerIdx 0 (autoencoder) or 1 (discriminator)
     * @param globalStep the global step (for {@code disc_start})
     * @param lastLayer the decoder's last weight, requiring grad (used in training mode from {@code
     *     disc_start} on by optimizer 0)
     * @param split the log prefix ("train")
     * @param weights per-element nll weights, or null
     * @return the loss and log
     * @throws IllegalArgumentException for mismatched shapes, an optimizer index other than 0/1, or
     *     a missing {@code lastLayer} where the adaptive weight needs it
     */
    public Output forward(NDArray inputs, NDArray reconstructions, Map<String, NDArray> regularizationLog,
            int optimizerIdx, long globalStep, NDArray lastLayer, String split, NDArray weights) {
        if (!inputs.getShape().equals(reconstructions.getShape())) {
            throw new IllegalArgumentException("GeneralLPIPSWithDiscriminator: inputs " + inputs.getShape()
                    + " and reconstructions " + reconstructions.getShape() + " differ in shape"
                    + " (scale_input_to_tgt_size is not ported)");
        }
        if (optimizerIdx != 0 && optimizerIdx != 1) {
            throw new IllegalArgumentException("optimizer_idx must be 0 or 1, got " + optimizerIdx);
        }
        if (params.dims() > 2) {
            try (NDArray x = foldFrames(inputs);
                    NDArray y = foldFrames(reconstructions)) {
                return forward2d(x, y, regularizationLog, optimizerIdx, globalStep, lastLayer, split, weights);
            }
        }
        return forward2d(inputs, reconstructions, regularizationLog, optimizerIdx, globalStep, lastLayer, split, weights);
    }

    private Output forward2d(NDArray inputs, NDArray reconstructions, Map<String, NDArray> regularizationLog,
            int optimizerIdx, long globalStep, NDArray lastLayer, String split, NDArray weights) {
        NDArray recLoss;
        try (NDArray diff = inputs.sub(reconstructions)) {
            recLoss = diff.abs();
        }
        if (params.perceptualWeight() > 0) {
            try (NDArray p = perceptualLoss.forward(inputs, reconstructions);
                    NDArray pw = F.mul(p, params.perceptualWeight())) {
                NDArray r = recLoss.add(pw);
                recLoss.close();
                recLoss = r;
            }
        }
        NDArray lv = logvar.getArray();
        NDArray nll;
        try (NDArray e = lv.exp();
                NDArray q = recLoss.div(e)) {
            nll = q.add(lv);
        }
        long b = nll.getShape().get(0);
        NDArray weightedNllLoss;
        if (weights != null) {
            try (NDArray w = weights.mul(nll);
                    NDArray s = w.sum()) {
                weightedNllLoss = F.div(s, w.getShape().get(0));
            }
        } else {
            try (NDArray s = nll.sum()) {
                weightedNllLoss = F.div(s, b);
            }
        }
        NDArray nllLoss;
        try (NDArray s = nll.sum()) {
            nllLoss = F.div(s, b);
        }
        nll.close();
        String pre = split + "/";
        Map<String, NDArray> log = new LinkedHashMap<>();
        boolean active = globalStep >= params.discStart() || !isTraining();
        if (optimizerIdx == 0) {
            NDArray gLoss;
            NDArray dWeight;
            if (active) {
                try (NDArray logitsFake = discForward(reconstructions);
                        NDArray m = logitsFake.mean()) {
                    gLoss = m.neg();
                }
                if (isTraining()) {
                    if (lastLayer == null) {
                        throw new IllegalArgumentException("GeneralLPIPSWithDiscriminator: the adaptive weight needs "
                                + "last_layer (decoder.conv_out.weight) in training mode");
                    }
                    dWeight = calculateAdaptiveWeight(nllLoss, gLoss, lastLayer);
                } else {
                    dWeight = Tensors.scalar(inputs, 1.0, DataType.FLOAT32);
                }
            } else {
                dWeight = Tensors.scalar(inputs, 0.0, DataType.FLOAT32);
                gLoss = Tensors.scalar(inputs, 0.0, DataType.FLOAT32);
            }
            NDArray loss;
            try (NDArray df = F.mul(dWeight, params.discFactor());
                    NDArray gl = df.mul(gLoss)) {
                loss = weightedNllLoss.add(gl);
            }
            for (Map.Entry<String, NDArray> e : regularizationLog.entrySet()) {
                Double w = params.regularizationWeights().get(e.getKey());
                if (w != null) {
                    try (NDArray t = F.mul(e.getValue(), w)) {
                        NDArray next = loss.add(t);
                        loss.close();
                        loss = next;
                    }
                }
                if (additionalLogKeys.contains(e.getKey())) {
                    try (NDArray v = e.getValue().stopGradient();
                            NDArray f = v.toType(DataType.FLOAT32, false)) {
                        log.put(pre + e.getKey(), f.mean());
                    }
                }
            }
            log.put(pre + "loss/total", detachedMean(loss));
            log.put(pre + "loss/nll", detachedMean(nllLoss));
            log.put(pre + "loss/rec", detachedMean(recLoss));
            log.put(pre + "loss/g", detachedMean(gLoss));
            log.put(pre + "scalars/logvar", lv.duplicate());
            log.put(pre + "scalars/d_weight", dWeight.stopGradient());
            for (NDArray t : new NDArray[] {weightedNllLoss, nllLoss, recLoss, dWeight, gLoss}) {
                t.close();
            }
            return new Output(loss, log, true);
        }
        NDArray logitsReal;
        NDArray logitsFake;
        try (NDArray xr = inputs.stopGradient();
                NDArray xf = reconstructions.stopGradient()) {
            logitsReal = discForward(xr);
            logitsFake = discForward(xf);
        }
        NDArray dLoss;
        if (active) {
            try (NDArray l = discLossFn.apply(logitsReal, logitsFake)) {
                dLoss = F.mul(l, params.discFactor());
            }
        } else {
            dLoss = Tensors.scalar(inputs, 0.0, DataType.FLOAT32);
        }
        log.put(pre + "loss/disc", detachedMean(dLoss));
        log.put(pre + "logits/real", detachedMean(logitsReal));
        log.put(pre + "logits/fake", detachedMean(logitsFake));
        for (NDArray t : new NDArray[] {weightedNllLoss, nllLoss, recLoss, logitsReal, logitsFake}) {
            t.close();
        }
        return new Output(dLoss, log, active);
    }

    private NDArray discForward(NDArray x) {
        return ((io.github.sgm4j.nn.UnaryModule) discriminator).forward(x);
    }

    /** {@code rearrange(x, "b c t h w -> (b t) c h w")}. */
    private static NDArray foldFrames(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 5) {
            throw new IllegalArgumentException("GeneralLPIPSWithDiscriminator with dims > 2 expects [B, C, T, H, W], got " + s);
        }
        try (NDArray t = x.transpose(0, 2, 1, 3, 4)) {
            return t.reshape(s.get(0) * s.get(2), s.get(1), s.get(3), s.get(4));
        }
    }

    private static NDArray detachedMean(NDArray x) {
        try (NDArray d = x.stopGradient()) {
            return d.mean();
        }
    }

    /**
     * The constructor arguments.
     *
     * @return the params
     */
    public Params getParams() {
        return params;
    }

    /**
     * The output log-variance ({@code logvar}).
     *
     * @return the slot
     */
    public Parameter getLogvar() {
        return logvar;
    }

    /**
     * The perceptual metric ({@code perceptual_loss}).
     *
     * @return the module
     */
    public LPIPS getPerceptualLoss() {
        return perceptualLoss;
    }

    /**
     * The discriminator ({@code discriminator}).
     *
     * @return the module
     */
    public Module getDiscriminator() {
        return discriminator;
    }
}
