package io.github.sgm4j.modules.autoencoding.losses;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import io.github.sgm4j.modules.autoencoding.lpips.LpipsWeights;
import io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator;
import io.github.sgm4j.modules.autoencoding.lpips.VqPerceptual;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Port of ldm's {@code ldm.modules.losses.LPIPSWithDiscriminator} (contperceptual.py), the loss of
 * ldm's KL autoencoders. Keys: {@code logvar} (0-d parameter, in no optimizer), {@code
 * perceptual_loss.*} ({@link LPIPS}, frozen, built in eval mode) and {@code discriminator.*} ({@link
 * NLayerDiscriminator} with {@code weights_init}).
 *
 * <p>{@code optimizer_idx 0} (generator): {@code rec = |x - x̂| + perceptual_weight * LPIPS(x, x̂)},
 * {@code nll = rec / exp(logvar) + logvar} summed / B, {@code kl} summed / B, {@code g_loss =
 * -mean(D(x̂))}, {@code loss = nll + kl_weight * kl + d_weight * disc_factor * g_loss} with the
 * adaptive weight {@link #calculateAdaptiveWeight} and {@code disc_factor = adopt_weight(disc_factor,
 * step, disc_start)}. {@code optimizer_idx 1}: {@code disc_factor * disc_loss(D(x), D(x̂))} on
 * detached inputs. Both branches compute the reconstruction terms first (LPIPS's dropout draws,
 * when in training mode, happen in both).
 *
 * <p>Size: one reference loss class (both optimizer branches, the adaptive weight, config and
 * pretrained-LPIPS wiring); splitting it would scatter one formula over files.
 */
public class LPIPSWithDiscriminator extends Module {

    /**
     * Constructor arguments with ldm's defaults.
     *
     * @param discStart first global step with the GAN term ({@code disc_start}, required)
     * @param logvarInit initial log-variance (0.0)
     * @param klWeight KL weight (1.0)
     * @param pixellossWeight stored by the reference and unused (1.0)
     * @param discNumLayers discriminator {@code n_layers} (3)
     * @param discInChannels discriminator input channels (3)
     * @param discFactor GAN factor from {@code disc_start} on (1.0)
     * @param discWeight multiplier of the adaptive weight (1.0)
     * @param perceptualWeight LPIPS weight (1.0; 0 skips LPIPS)
     * @param useActnorm ActNorm in the discriminator (false)
     * @param discConditional discriminator sees {@code cat(x, cond)} (false)
     * @param discLoss {@code hinge} or {@code vanilla} ("hinge")
     */
    public record Params(long discStart, double logvarInit, double klWeight, double pixellossWeight,
            int discNumLayers, int discInChannels, double discFactor, double discWeight, double perceptualWeight,
            boolean useActnorm, boolean discConditional, String discLoss) {
        /**
         * Validates like the reference ({@code assert disc_loss in ["hinge", "vanilla"]}).
         *
         * @param discStart the global step from which the GAN loss is active
         * @param logvarInit the initial value of the learned output log-variance (reference default 0)
         * @param klWeight the weight of the KL term (default 1)
         * @param pixellossWeight the weight of the L1 pixel loss (default 1)
         * @param discNumLayers the discriminator depth {@code disc_num_layers} (default 3)
         * @param discInChannels the discriminator input channels (default 3)
         * @param discFactor the GAN loss factor once active (default 1)
         * @param discWeight the adaptive generator-loss weight scale (default 1)
         * @param perceptualWeight the weight of the LPIPS term (default 1)
         * @param useActnorm whether to normalise with {@link
         *     io.github.sgm4j.modules.autoencoding.lpips.ActNorm} instead of {@code BatchNorm2d}
         * @param discConditional whether the discriminator sees the conditioning (default false)
         * @param discLoss the discriminator loss, {@code "hinge"} (default) or {@code "vanilla"}
         */
        public Params {
            VqPerceptual.discLoss(discLoss);
        }

        /**
         * ldm's defaults with the given {@code disc_start}.
         *
         * @param discStart first step with the GAN term
         * @return the params
         */
        public static Params defaults(long discStart) {
            return new Params(discStart, 0.0, 1.0, 1.0, 3, 3, 1.0, 1.0, 1.0, false, false, "hinge");
        }
    }

    /**
     * The loss and its log dict ({@code <split>/total_loss}, ... as in the reference).
     *
     * @param loss the 0-d loss to differentiate
     * @param log detached 0-d values by name
     */
    public record Output(NDArray loss, Map<String, NDArray> log) {}

    private final Params params;
    private final Parameter logvar;
    private final LPIPS perceptualLoss;
    private final NLayerDiscriminator discriminator;
    private final VqPerceptual.DiscLoss discLossFn;
    private java.nio.file.Path pretrainedLpips;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LPIPSWithDiscriminator.class);

    /**
     * Builds the loss (LPIPS weights still to be loaded, see {@link LPIPS}).
     *
     * @param params the arguments
     */
    public LPIPSWithDiscriminator(Params params) {
        this.params = params;
        if (params.perceptualWeight() > 0) {
            this.perceptualLoss = register("perceptual_loss", new LPIPS());
            perceptualLoss.eval();
        } else {
            this.perceptualLoss = null;
        }
        double init = params.logvarInit();
        this.logvar = parameter("logvar", new Shape(), (m, s, d, n) -> Tensors.scalar(m, init, d));
        this.discriminator = register("discriminator", NLayerDiscriminator.weightsInit(new NLayerDiscriminator(
                new NLayerDiscriminator.Params(params.discInChannels(), 64, params.discNumLayers(), params.useActnorm()))));
        this.discLossFn = VqPerceptual.discLoss(params.discLoss());
    }

    /**
     * Builds from {@code ldm.modules.losses.LPIPSWithDiscriminator} params.
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the loss
     */
    public static LPIPSWithDiscriminator fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults(0);
        String discLoss = p.getString("disc_loss", d.discLoss());
        if (!discLoss.equals("hinge") && !discLoss.equals("vanilla")) {
            throw new ConfigException(p.pathOf("disc_loss"), "expected 'hinge' or 'vanilla', got '" + discLoss + "'");
        }
        String lpipsDir = p.getString("lpips_dir", null);
        LPIPSWithDiscriminator loss = new LPIPSWithDiscriminator(new Params(p.getLong("disc_start"), p.getDouble("logvar_init", d.logvarInit()),
                p.getDouble("kl_weight", d.klWeight()), p.getDouble("pixelloss_weight", d.pixellossWeight()),
                p.getInt("disc_num_layers", d.discNumLayers()), p.getInt("disc_in_channels", d.discInChannels()),
                p.getDouble("disc_factor", d.discFactor()), p.getDouble("disc_weight", d.discWeight()),
                p.getDouble("perceptual_weight", d.perceptualWeight()), p.getBoolean("use_actnorm", d.useActnorm()),
                p.getBoolean("disc_conditional", d.discConditional()), discLoss));
        if (loss.perceptualLoss != null) {
            loss.pretrainedLpips = LpipsWeights.directory(lpipsDir);
        } else {
            LOG.info("{}: perceptual_weight is 0: LPIPS is off (not built, no loss.perceptual_loss.* keys)", p.path());
        }
        return loss;
    }

    /**
     * Allocates the tensors, then, for a loss built from a config with {@code perceptual_weight > 0},
     * loads the pretrained LPIPS weights ({@link LpipsWeights}: {@code lpips_dir}, {@value
     * LpipsWeights#ENV} or {@code ~/.cache/sgm4j/lpips}). A loss built with the constructor leaves
     * LPIPS's weights to the caller.
     *
     * @param manager the manager that will own the arrays
     * @param noise the source of the initialisers' draws
     * @throws LpipsWeights.MissingWeightsException naming the missing file and its directory
     */
    @Override
    public void initialize(ai.djl.ndarray.NDManager manager, io.github.sgm4j.noise.NoiseSource noise) {
        super.initialize(manager, noise);
        loadPretrainedLpips();
    }

    /**
     * Loads the pretrained LPIPS weights when this loss was built from a config with {@code
     * perceptual_weight > 0} (no-op otherwise). {@link #initialize} calls it; a parent module that
     * allocates this loss as part of its tree calls it after allocation.
     *
     * @throws LpipsWeights.MissingWeightsException naming the missing file and its directory
     */
    public void loadPretrainedLpips() {
        if (pretrainedLpips != null) {
            LpipsWeights.load(perceptualLoss, pretrainedLpips);
        }
    }

    /**
     * The directory the pretrained LPIPS weights are read from at {@link #initialize}.
     *
     * @return the directory, or null when LPIPS is off or its weights are the caller's business
     */
    public java.nio.file.Path getPretrainedLpipsDir() {
        return pretrainedLpips;
    }

    /**
     * The gradient of {@code output} with respect to the leaf {@code leaf} ({@code
     * torch.autograd.grad(output, leaf, retain_graph=True)[0]}), the graph kept. The leaf's own
     * {@code .grad} is left as it was; other leaves that require grad accumulate the backward pass
     * into their {@code .grad} (DJL has no {@code autograd.grad}): callers zero them before their
     * own backward, as {@link io.github.sgm4j.models.LdmAutoencoderTrainer} does.
     *
     * @param output a 0-d array in a recorded graph
     * @param leaf a leaf array that requires grad
     * @return a detached copy of the gradient
     * @throws IllegalArgumentException if {@code leaf} does not require grad
     */
    public static NDArray grad(NDArray output, NDArray leaf) {
        if (!leaf.hasGradient()) {
            throw new IllegalArgumentException("grad: the leaf " + leaf.getShape() + " does not require grad");
        }
        NDArray before;
        try (NDArray g0 = leaf.getGradient()) {
            before = g0.duplicate();
        }
        try (before) {
            F.backward(output, true);
            try (NDArray after = leaf.getGradient()) {
                NDArray result = after.sub(before);
                F.zeroGrad(leaf);
                try (NDArray restored = leaf.getGradient()) {
                    restored.addi(before);
                }
                return result;
            }
        }
    }

    /**
     * {@code calculate_adaptive_weight}: {@code clamp(|∇nll| / (|∇g| + 1e-4), 0, 1e4) *
     * disc_weight}, detached, with both gradients taken w.r.t. {@code lastLayer} from the retained
     * graph (see {@link #grad} for the side effect on other leaves).
     *
     * @param nllLoss the 0-d nll loss
     * @param gLoss the 0-d generator loss
     * @param lastLayer the decoder's last weight ({@code decoder.conv_out.weight}), requiring grad
     * @return the 0-d weight
     */
    public NDArray calculateAdaptiveWeight(NDArray nllLoss, NDArray gLoss, NDArray lastLayer) {
        return calculateAdaptiveWeight(nllLoss, gLoss, out -> grad(out, lastLayer));
    }

    /**
     * The gradient of a 0-d loss with respect to the decoder's last weight, the graph kept ({@code
     * torch.autograd.grad(loss, last_layer, retain_graph=True)[0]}).
     */
    @FunctionalInterface
    public interface LastLayerGradient {
        /**
         * The gradient.
         *
         * @param loss a 0-d loss in a recorded graph
         * @return a detached gradient shaped like the last weight
         */
        NDArray of(NDArray loss);
    }

    /**
     * {@code calculate_adaptive_weight} with the gradients taken by {@code lastLayerGrad}.
     *
     * @param nllLoss the 0-d nll loss
     * @param gLoss the 0-d generator loss
     * @param lastLayerGrad computes a loss's gradient w.r.t. the last weight
     * @return the 0-d weight
     */
    public NDArray calculateAdaptiveWeight(NDArray nllLoss, NDArray gLoss, LastLayerGradient lastLayerGrad) {
        return adaptiveWeight(nllLoss, gLoss, lastLayerGrad, params.discWeight());
    }

    /**
     * The adaptive weight formula shared by ldm's and sgm's losses: {@code clamp(|∇nll| / (|∇g| +
     * 1e-4), 0, 1e4) * discWeight}, detached.
     *
     * @param nllLoss the 0-d nll loss
     * @param gLoss the 0-d generator loss
     * @param lastLayerGrad computes a loss's gradient w.r.t. the last weight
     * @param discWeight {@code disc_weight}
     * @return the 0-d weight
     */
    public static NDArray adaptiveWeight(NDArray nllLoss, NDArray gLoss, LastLayerGradient lastLayerGrad,
            double discWeight) {
        boolean prev = F.setGradEnabled(true);
        NDArray nllGrads = lastLayerGrad.of(nllLoss);
        NDArray gGrads = lastLayerGrad.of(gLoss);
        F.setGradEnabled(false);
        try (nllGrads;
                gGrads;
                NDArray a = frobenius(nllGrads);
                NDArray b = frobenius(gGrads);
                NDArray b1 = F.add(b, 1e-4);
                NDArray r = a.div(b1);
                NDArray lo = F.maximum(r, 0.0);
                NDArray c = F.minimum(lo, 1e4)) {
            return F.mul(c, discWeight);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * {@code forward(inputs, reconstructions, posteriors, optimizer_idx, global_step, last_layer,
     * cond, split, weights)}.
     *
     * @param inputs images [B, C, H, W]
     * @param reconstructions decoded images, same shape
     * @param posterior the posterior whose KL to N(0, 1) is penalised
     * @param optimizerIdx 0 (autoencoder) or 1 (discriminator)
     * @param globalStep the global step (for {@code disc_start})
     * @param lastLayer the decoder's last weight for the adaptive weight (requires grad), or null
     *     when not training (d_weight 0, as the reference's {@code RuntimeError} fallback)
     * @param cond conditioning concatenated to the discriminator input, or null
     * @param split the log prefix ("train")
     * @param weights per-element nll weights, or null
     * @return the loss and log
     * @throws IllegalArgumentException for mismatched shapes, an optimizer index other than 0/1, or
     *     a {@code cond} that does not match {@code disc_conditional}
     */
    public Output forward(NDArray inputs, NDArray reconstructions, DiagonalGaussianDistribution posterior,
            int optimizerIdx, long globalStep, NDArray lastLayer, NDArray cond, String split, NDArray weights) {
        return forward(inputs, reconstructions, posterior, optimizerIdx, globalStep,
                lastLayer == null ? null : out -> grad(out, lastLayer), cond, split, weights);
    }

    /**
     * {@link #forward(NDArray, NDArray, DiagonalGaussianDistribution, int, long, NDArray, NDArray,
     * String, NDArray)} with the adaptive weight's gradients taken by {@code lastLayerGrad} (null: no
     * adaptive weight, d_weight 0).
     *
     * @param inputs images [B, C, H, W]
     * @param reconstructions decoded images, same shape
     * @param posterior the posterior whose KL to N(0, 1) is penalised
     * @param optimizerIdx 0 (autoencoder) or 1 (discriminator)
     * @param globalStep the global step (for {@code disc_start})
     * @param lastLayerGrad the gradient w.r.t. the decoder's last weight, or null
     * @param cond conditioning concatenated to the discriminator input, or null
     * @param split the log prefix ("train")
     * @param weights per-element nll weights, or null
     * @return the loss and log
     * @throws IllegalArgumentException for mismatched shapes, an optimizer index other than 0/1, or
     *     a {@code cond} that does not match {@code disc_conditional}
     */
    public Output forward(NDArray inputs, NDArray reconstructions, DiagonalGaussianDistribution posterior,
            int optimizerIdx, long globalStep, LastLayerGradient lastLayerGrad, NDArray cond, String split,
            NDArray weights) {
        if (!inputs.getShape().equals(reconstructions.getShape())) {
            throw new IllegalArgumentException("LPIPSWithDiscriminator: inputs " + inputs.getShape()
                    + " and reconstructions " + reconstructions.getShape() + " differ in shape");
        }
        if (optimizerIdx != 0 && optimizerIdx != 1) {
            throw new IllegalArgumentException("optimizer_idx must be 0 or 1, got " + optimizerIdx);
        }
        if ((cond != null) != params.discConditional()) {
            throw new IllegalArgumentException("disc_conditional=" + params.discConditional() + " but cond is "
                    + (cond == null ? "null" : "given"));
        }
        long b = inputs.getShape().get(0);
        NDArray absDiff = inputs.sub(reconstructions);
        NDArray recLoss = absDiff.abs();
        absDiff.close();
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
        NDArray weightedNllLoss;
        if (weights != null) {
            try (NDArray w = weights.mul(nll);
                    NDArray s = w.sum()) {
                weightedNllLoss = F.div(s, b);
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
        NDArray klLoss;
        try (NDArray kl = kl(posterior);
                NDArray s = kl.sum()) {
            klLoss = F.div(s, kl.getShape().get(0));
        }
        String pre = split + "/";
        Map<String, NDArray> log = new LinkedHashMap<>();
        double discFactor = VqPerceptual.adoptWeight(params.discFactor(), globalStep, params.discStart());
        if (optimizerIdx == 0) {
            NDArray logitsFake;
            try (NDArray in = discInput(reconstructions, cond)) {
                logitsFake = discriminator.forward(in);
            }
            NDArray gLoss;
            try (NDArray m = logitsFake.mean()) {
                gLoss = m.neg();
            }
            logitsFake.close();
            NDArray dWeight;
            if (params.discFactor() > 0.0 && lastLayerGrad != null && ai.djl.pytorch.jni.JniUtils.isGradMode()) {
                dWeight = calculateAdaptiveWeight(nllLoss, gLoss, lastLayerGrad);
            } else {
                dWeight = Tensors.scalar(inputs, 0.0, DataType.FLOAT32);
            }
            NDArray loss;
            try (NDArray klw = F.mul(klLoss, params.klWeight());
                    NDArray a = weightedNllLoss.add(klw);
                    NDArray df = F.mul(dWeight, discFactor);
                    NDArray gl = df.mul(gLoss)) {
                loss = a.add(gl);
            }
            log.put(pre + "total_loss", detachedMean(loss));
            log.put(pre + "logvar", detached(lv));
            log.put(pre + "kl_loss", detachedMean(klLoss));
            log.put(pre + "nll_loss", detachedMean(nllLoss));
            log.put(pre + "rec_loss", detachedMean(recLoss));
            log.put(pre + "d_weight", detached(dWeight));
            log.put(pre + "disc_factor", Tensors.scalar(inputs, discFactor, DataType.FLOAT32));
            log.put(pre + "g_loss", detachedMean(gLoss));
            for (NDArray t : new NDArray[] {weightedNllLoss, nllLoss, klLoss, recLoss, dWeight, gLoss}) {
                t.close();
            }
            return new Output(loss, log);
        }
        NDArray logitsReal;
        NDArray logitsFake;
        try (NDArray xr = inputs.stopGradient();
                NDArray xf = reconstructions.stopGradient();
                NDArray inR = discInput(xr, cond);
                NDArray inF = discInput(xf, cond)) {
            logitsReal = discriminator.forward(inR);
            logitsFake = discriminator.forward(inF);
        }
        NDArray dLoss;
        try (NDArray l = discLossFn.apply(logitsReal, logitsFake)) {
            dLoss = F.mul(l, discFactor);
        }
        log.put(pre + "disc_loss", detachedMean(dLoss));
        log.put(pre + "logits_real", detachedMean(logitsReal));
        log.put(pre + "logits_fake", detachedMean(logitsFake));
        for (NDArray t : new NDArray[] {weightedNllLoss, nllLoss, klLoss, recLoss, logitsReal, logitsFake}) {
            t.close();
        }
        return new Output(dLoss, log);
    }

    /** {@code torch.norm(x)}: the 2-norm over all elements. */
    private static NDArray frobenius(NDArray x) {
        try (NDArray sq = x.mul(x);
                NDArray s = sq.sum()) {
            return s.sqrt();
        }
    }

    private static NDArray discInput(NDArray x, NDArray cond) {
        if (cond == null) {
            return F.alias(x);
        }
        return x.concat(cond, 1);
    }

    /** {@code posterior.kl()} with libtorch-owned scalars: 0.5 * sum(mean^2 + var - 1 - logvar, dims 1..). */
    private static NDArray kl(DiagonalGaussianDistribution posterior) {
        if (posterior.isDeterministic()) {
            return Tensors.scalar(posterior.getMean(), 0.0, DataType.FLOAT32).reshape(1);
        }
        NDArray mean = posterior.getMean();
        int[] dims = new int[mean.getShape().dimension() - 1];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = i + 1;
        }
        try (NDArray m2 = mean.mul(mean);
                NDArray a = m2.add(posterior.getVar());
                NDArray b = F.sub(a, 1.0);
                NDArray c = b.sub(posterior.getLogvar());
                NDArray s = c.sum(dims)) {
            return F.mul(s, 0.5);
        }
    }

    private static NDArray detached(NDArray x) {
        return x.stopGradient();
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
     * The learned log-variance ({@code logvar}).
     *
     * @return the slot
     */
    public Parameter getLogvar() {
        return logvar;
    }

    /**
     * The perceptual metric ({@code perceptual_loss}).
     *
     * @return the module, or null when {@code perceptual_weight} is 0 (LPIPS off, not built)
     */
    public LPIPS getPerceptualLoss() {
        return perceptualLoss;
    }

    /**
     * The PatchGAN ({@code discriminator}).
     *
     * @return the module
     */
    public NLayerDiscriminator getDiscriminator() {
        return discriminator;
    }
}
