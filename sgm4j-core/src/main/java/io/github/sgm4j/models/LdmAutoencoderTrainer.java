package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.autoencoding.losses.LPIPSWithDiscriminator;
import io.github.sgm4j.modules.diffusionmodules.model.DDConfig;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ldm's {@code ldm.models.autoencoder.AutoencoderKL} in training: the autoencoder plus its {@code
 * loss} ({@link LPIPSWithDiscriminator}), with the key layout of the reference's full state dict
 * ({@code encoder.*}, {@code decoder.*}, {@code loss.*}, {@code quant_conv.*}, {@code
 * post_quant_conv.*}; the encoder/decoder modules are those of the wrapped {@link AutoencoderKL}).
 *
 * <p>{@link #trainingStep} is ldm's {@code training_step}: {@code get_input} (B, H, W, C) -> (B, C,
 * H, W), a fresh forward ({@code posterior.sample()} draws a {@code randn}), then the loss for the
 * optimizer index. {@link #optimizerStep} is PyTorch Lightning 1.4's loop for one optimizer:
 * toggle (only that optimizer's parameters require grad), zero grad, training step, backward, step.
 * {@link #configureOptimizers} gives ldm's two Adams ({@code betas (0.5, 0.9)}; Adam is {@link
 * AdamW} with weight decay 0): optimizer 0 over encoder, decoder and quant convs, optimizer 1 over
 * the discriminator. {@code loss.logvar} is in neither (ldm never trains it).
 *
 * <p>Size: one reference class's training half (optimizer groups, Lightning's toggling, the step
 * with its leaf-based adaptive-weight gradients and the loop contract of {@link AutoencoderTraining}).
 */
public class LdmAutoencoderTrainer extends Module implements AutoencoderTraining {

    /**
     * The result of one training step.
     *
     * @param loss the 0-d loss
     * @param log the loss's log dict (keys {@code train/...})
     * @param reconstructions the decoded sample [B, C, H, W]
     */
    public record StepOutput(NDArray loss, Map<String, NDArray> log, NDArray reconstructions) {}

    /** The keys of {@link #trainBatch}'s log, in a fixed order. */
    public static final List<String> LOG_KEYS = List.of("aeloss", "discloss", "total_loss", "logvar", "kl_loss",
            "nll_loss", "rec_loss", "d_weight", "disc_factor", "g_loss", "disc_loss", "logits_real", "logits_fake");

    private final AutoencoderKL ae;
    private final LPIPSWithDiscriminator loss;
    private double learningRate;
    private long globalStep;
    private List<AdamW> optimizers = List.of();

    /**
     * Wraps an autoencoder (with quant convs) and its loss.
     *
     * @param ae the ldm AutoencoderKL
     * @param loss its loss
     * @param learningRate {@code base_learning_rate} (ldm's {@code learning_rate})
     * @throws IllegalArgumentException if {@code ae} has no {@code quant_conv}
     */
    public LdmAutoencoderTrainer(AutoencoderKL ae, LPIPSWithDiscriminator loss, double learningRate) {
        if (!ae.children().containsKey("quant_conv")) {
            throw new IllegalArgumentException("LdmAutoencoderTrainer needs ldm's AutoencoderKL (with quant_conv)");
        }
        this.ae = ae;
        register("encoder", ae.getEncoder());
        register("decoder", ae.getDecoder());
        this.loss = register("loss", loss);
        register("quant_conv", ae.child("quant_conv"));
        register("post_quant_conv", ae.child("post_quant_conv"));
        this.learningRate = learningRate;
    }

    /**
     * Builds from {@code ldm.models.autoencoder.AutoencoderKL} params with a {@code lossconfig}
     * (the autoencoder through {@link AutoencoderKL#fromConfig}, the loss through the
     * instantiator). The learning rate is set with {@link #setLearningRate}.
     *
     * @param p the params node
     * @param inst the instantiator
     * @return the trainer (learning rate 0 until set)
     */
    public static LdmAutoencoderTrainer fromConfig(ConfigNode p, Instantiator inst) {
        LPIPSWithDiscriminator l = inst.instantiate(p.getNode("lossconfig"), LPIPSWithDiscriminator.class);
        AutoencoderKL a = AutoencoderKL.fromConfig(p, inst);
        return new LdmAutoencoderTrainer(a, l, 0.0);
    }

    /**
     * Sets {@code learning_rate} (ldm: {@code base_learning_rate}, possibly scaled).
     *
     * @param lr the learning rate of both optimizers
     */
    public void setLearningRate(double lr) {
        this.learningRate = lr;
    }

    /**
     * The wrapped autoencoder.
     *
     * @return the autoencoder
     */
    public AutoencoderKL getAutoencoder() {
        return ae;
    }

    /**
     * The loss module.
     *
     * @return the loss
     */
    public LPIPSWithDiscriminator getLoss() {
        return loss;
    }

    /**
     * The parameters of optimizer 0 (encoder, decoder, quant_conv, post_quant_conv) by full key.
     *
     * @return parameters in the reference's group order
     */
    public Map<String, Parameter> autoencoderParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (String child : List.of("encoder", "decoder", "quant_conv", "post_quant_conv")) {
            child(child).namedParameters().forEach((k, v) -> out.put(child + "." + k, v));
        }
        return out;
    }

    /**
     * The parameters of optimizer 1 (the discriminator) by full key.
     *
     * @return parameters in the reference's group order
     */
    public Map<String, Parameter> discriminatorParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        loss.getDiscriminator().namedParameters().forEach((k, v) -> out.put("loss.discriminator." + k, v));
        return out;
    }

    /**
     * ldm's {@code configure_optimizers}: two Adams (betas (0.5, 0.9), eps 1e-8, no weight decay).
     *
     * @param manager owns the optimizer state
     * @return [opt_ae, opt_disc]
     */
    public List<AdamW> configureOptimizers(NDManager manager) {
        AdamW.Params hp = new AdamW.Params(learningRate, 0.5, 0.9, 1e-8, 0.0, false);
        return List.of(new AdamW(autoencoderParameters(), hp, manager), new AdamW(discriminatorParameters(), hp, manager));
    }

    /**
     * {@code get_input}: (B, H, W, C) or (B, H, W) images to float32 (B, C, H, W).
     *
     * @param image the batch's image entry
     * @return the network input
     * @throws IllegalArgumentException if the rank is not 3 or 4
     */
    public static NDArray getInput(NDArray image) {
        Shape s = image.getShape();
        if (s.dimension() != 3 && s.dimension() != 4) {
            throw new IllegalArgumentException("get_input expects images (B, H, W, C) or (B, H, W), got " + s);
        }
        try (NDArray x4 = s.dimension() == 3 ? image.expandDims(3) : F.alias(image);
                NDArray p = x4.transpose(0, 3, 1, 2)) {
            return p.toType(ai.djl.ndarray.types.DataType.FLOAT32, true);
        }
    }

    /**
     * Makes exactly the parameters of optimizer {@code optimizerIdx} require grad (Lightning's
     * {@code toggle_optimizer}).
     *
     * @param optimizerIdx 0 or 1
     */
    public void toggleOptimizer(int optimizerIdx) {
        checkIdx(optimizerIdx);
        setRequiresGrad(autoencoderParameters(), optimizerIdx == 0);
        setRequiresGrad(discriminatorParameters(), optimizerIdx == 1);
    }

    private static void setRequiresGrad(Map<String, Parameter> params, boolean requires) {
        for (Parameter p : params.values()) {
            NDArray a = p.getArray();
            if (a.hasGradient() != requires) {
                a.setRequiresGradient(requires);
            }
        }
    }

    private static void checkIdx(int optimizerIdx) {
        if (optimizerIdx != 0 && optimizerIdx != 1) {
            throw new IllegalArgumentException("optimizer_idx must be 0 or 1, got " + optimizerIdx);
        }
    }

    /**
     * ldm's {@code training_step(batch, batch_idx, optimizer_idx)} with {@code global_step}: input,
     * forward with a posterior sample, loss. Runs with autograd recording; call {@link
     * #toggleOptimizer} first so the right parameters require grad.
     *
     * @param image the batch's image (B, H, W, C) in [-1, 1]
     * @param globalStep the global step
     * @param optimizerIdx 0 (autoencoder) or 1 (discriminator)
     * @param noise the source of the posterior sample and of LPIPS's dropout masks
     * @return the loss, its log and the reconstructions
     */
    public StepOutput trainingStep(NDArray image, long globalStep, int optimizerIdx, NoiseSource noise) {
        checkIdx(optimizerIdx);
        setNoiseSource(noise);
        releasePending();
        NDArray lastLayer = ae.getDecoder().tensor("conv_out.weight").getArray();
        boolean prev = F.setGradEnabled(true);
        try (NDArray inputs = getInput(image)) {
            if (optimizerIdx == 0 && lastLayer.hasGradient() && splitCapable()) {
                return generatorStep(inputs, globalStep, lastLayer, noise);
            }
            NDArray dec;
            LPIPSWithDiscriminator.Output out;
            try (DiagonalGaussianDistribution posterior = ae.posterior(inputs)) {
                try (NDArray z = posterior.sample(noise)) {
                    dec = ae.decode(z);
                }
                out = loss.forward(inputs, dec, posterior, optimizerIdx, globalStep,
                        lastLayer.hasGradient() ? lastLayer : null, null, "train", null);
            }
            return new StepOutput(out.loss(), out.log(), dec);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    private boolean splitCapable() {
        DDConfig c = ae.getDecoder().getConfig();
        return !c.tanhOut() && !c.givePreEnd();
    }

    /**
     * The autoencoder step with the loss evaluated on detached leaves of the reconstruction and of
     * the moments: the adaptive weight's two gradients w.r.t. {@code conv_out.weight} then cost a
     * backward pass through the loss and one convolution each (as {@code torch.autograd.grad} does),
     * not two passes through the whole autoencoder. {@link #backward} finishes with one pass from the
     * leaves' gradients into the autoencoder. Same numbers as the direct graph (gradients meet at the
     * same tensors).
     */
    private StepOutput generatorStep(NDArray inputs, long globalStep, NDArray lastLayer, NoiseSource noise) {
        NDArray moments = ae.moments(inputs);
        NDArray convIn;
        NDArray dec;
        try (DiagonalGaussianDistribution posterior = new DiagonalGaussianDistribution(moments)) {
            try (NDArray z = posterior.sample(noise)) {
                ai.djl.ndarray.NDList pair = ae.decodeWithConvOutInput(z);
                convIn = pair.get(0);
                dec = pair.get(1);
            }
        }
        NDArray mLeaf = moments.stopGradient();
        mLeaf.setRequiresGradient(true);
        NDArray yLeaf = dec.stopGradient();
        yLeaf.setRequiresGradient(true);
        NDArray convInDetached = convIn.stopGradient();
        convIn.close();
        pending = new Pending(moments, dec, mLeaf, yLeaf, convInDetached);
        LPIPSWithDiscriminator.Output out;
        try (DiagonalGaussianDistribution leafPosterior = new DiagonalGaussianDistribution(mLeaf)) {
            out = loss.forward(inputs, yLeaf, leafPosterior, 0, globalStep, l -> lastLayerGrad(l, lastLayer),
                    null, "train", null);
        }
        return new StepOutput(out.loss(), out.log(), dec.stopGradient());
    }

    /** d loss / d conv_out.weight: the loss's gradient at the reconstruction leaf, through one convolution. */
    private NDArray lastLayerGrad(NDArray lossValue, NDArray lastLayer) {
        Pending p = pending;
        F.backward(lossValue, true);
        try (NDArray gy = p.yLeaf.getGradient();
                NDArray g = gy.duplicate();
                NDArray w0 = lastLayer.stopGradient();
                NDArray w = w0.duplicate()) {
            F.zeroGrad(p.yLeaf);
            F.zeroGrad(p.mLeaf);
            w.setRequiresGradient(true);
            try (NDArray o = F.conv2d(p.convIn, w, null, 1, 1, 1);
                    NDArray og = o.mul(g);
                    NDArray s = og.sum()) {
                F.backward(s, false);
            }
            try (NDArray gw = w.getGradient()) {
                return gw.duplicate();
            }
        }
    }

    /** The state a generator step leaves for its {@link #backward}. */
    private record Pending(NDArray moments, NDArray dec, NDArray mLeaf, NDArray yLeaf, NDArray convIn) {
        void close() {
            for (NDArray a : new NDArray[] {moments, dec, mLeaf, yLeaf, convIn}) {
                a.close();
            }
        }
    }

    private Pending pending;

    private void releasePending() {
        if (pending != null) {
            pending.close();
            pending = null;
        }
    }

    /**
     * The gradients after {@link #backward}: the active optimizer's parameters by full key.
     *
     * @param optimizerIdx 0 or 1
     * @return detached copies of the gradients
     */
    public Map<String, NDArray> gradients(int optimizerIdx) {
        checkIdx(optimizerIdx);
        Map<String, NDArray> out = new LinkedHashMap<>();
        (optimizerIdx == 0 ? autoencoderParameters() : discriminatorParameters()).forEach((k, p) -> {
            try (NDArray g = p.getArray().getGradient()) {
                out.put(k, g.duplicate());
            }
        });
        return out;
    }

    /**
     * {@code opt.zero_grad()} for optimizer {@code optimizerIdx}.
     *
     * @param optimizerIdx 0 or 1
     */
    public void zeroGrad(int optimizerIdx) {
        checkIdx(optimizerIdx);
        for (Parameter p : (optimizerIdx == 0 ? autoencoderParameters() : discriminatorParameters()).values()) {
            F.zeroGrad(p.getArray());
        }
    }

    /**
     * {@code loss.backward()} for a step of optimizer {@code optimizerIdx}: first clears what the
     * adaptive weight's backward passes left in the parameters' gradients (torch computes those
     * with {@code autograd.grad}, which does not accumulate), then backpropagates.
     *
     * @param loss the step's loss
     * @param optimizerIdx 0 or 1
     */
    public void backward(NDArray loss, int optimizerIdx) {
        zeroGrad(optimizerIdx);
        boolean prev = F.setGradEnabled(true);
        try {
            Pending p = pending;
            if (optimizerIdx == 0 && p != null) {
                F.zeroGrad(p.yLeaf);
                F.zeroGrad(p.mLeaf);
                F.backward(loss, false);
                try (NDArray gy = p.yLeaf.getGradient();
                        NDArray gm = p.mLeaf.getGradient();
                        NDArray a = p.dec.mul(gy);
                        NDArray sa = a.sum();
                        NDArray b = p.moments.mul(gm);
                        NDArray sb = b.sum();
                        NDArray surrogate = sa.add(sb)) {
                    F.backward(surrogate, false);
                }
                releasePending();
            } else {
                F.backward(loss, false);
            }
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * One step of PyTorch Lightning 1.4's loop for one optimizer: toggle, zero grad, {@link
     * #trainingStep}, backward, {@code opt.step()} (the toggled parameters keep requiring grad until the next toggle).
     *
     * @param image the batch's image (B, H, W, C)
     * @param globalStep the global step
     * @param optimizerIdx 0 or 1
     * @param optimizer that optimizer (from {@link #configureOptimizers})
     * @param noise the source of the random draws
     * @return the step's loss and log (the reconstructions are closed)
     */
    public StepOutput optimizerStep(NDArray image, long globalStep, int optimizerIdx, AdamW optimizer,
            NoiseSource noise) {
        StepOutput out = lightningStep(image, globalStep, optimizerIdx, optimizer, noise, false);
        return new StepOutput(out.loss(), out.log(), null);
    }

    /** Lightning 1.4's loop for one optimizer; with {@code checkFinite} a NaN/infinite loss throws before backward. */
    private StepOutput lightningStep(NDArray image, long step, int idx, AdamW optimizer, NoiseSource noise,
            boolean checkFinite) {
        train();
        toggleOptimizer(idx);
        zeroGrad(idx);
        StepOutput out = trainingStep(image, step, idx, noise);
        if (checkFinite) {
            double l = out.loss().getFloat();
            if (!Double.isFinite(l)) {
                out.reconstructions().close();
                throw new io.github.sgm4j.optim.NonFiniteLossException(step + 1, l);
            }
        }
        backward(out.loss(), idx);
        boolean prev = F.setGradEnabled(false);
        try {
            optimizer.step();
        } finally {
            F.setGradEnabled(prev);
        }
        out.reconstructions().close();
        return out;
    }

    /**
     * Allocates the tree (autoencoder and loss) and attaches the wrapped autoencoder to the same
     * manager, so it can encode and decode on its own; then loads the loss's pretrained LPIPS weights (when it
     * uses them).
     *
     * @param manager owns the arrays
     * @param noise the source of the initialisers' draws
     */
    @Override
    public void initialize(NDManager manager, NoiseSource noise) {
        super.initialize(manager, noise);
        ae.attach(manager);
        loss.loadPretrainedLpips();
    }

    @Override
    public List<String> logKeys() {
        return LOG_KEYS;
    }

    @Override
    public Module module() {
        return this;
    }

    @Override
    public List<AdamW> configureOptimizers(NDManager manager, double lr) {
        setLearningRate(lr);
        optimizers = configureOptimizers(manager);
        return optimizers;
    }

    @Override
    public List<AdamW> getOptimizers() {
        return optimizers;
    }

    @Override
    public double getLearningRate() {
        return learningRate;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>(autoencoderParameters());
        out.putAll(discriminatorParameters());
        return out;
    }

    @Override
    public long getGlobalStep() {
        return globalStep;
    }

    @Override
    public void setGlobalStep(long step) {
        this.globalStep = step;
    }

    /**
     * ldm under Lightning 1.4: optimizer 0 (autoencoder) then optimizer 1 (discriminator), each with
     * its own forward, at the same global step; then the global step advances.
     *
     * @param images the batch [B, C, H, W] in [-1, 1]
     * @param batchIdx the batch index (unused: ldm runs both optimizers on every batch)
     * @param noise the source of the posterior samples and LPIPS's dropout masks
     * @return {@code aeloss}, {@code discloss} and the loss's log values
     * @throws IllegalStateException before {@link #configureOptimizers(NDManager, double)}
     * @throws io.github.sgm4j.optim.NonFiniteLossException when a loss is NaN or infinite
     */
    @Override
    public Map<String, Double> trainBatch(NDArray images, long batchIdx, NoiseSource noise) {
        if (optimizers.size() != 2) {
            throw new IllegalStateException("configureOptimizers(manager, lr) was not called");
        }
        Map<String, Double> log = new LinkedHashMap<>();
        try (NDArray bhwc = images.transpose(0, 2, 3, 1)) {
            for (int idx = 0; idx < 2; idx++) {
                StepOutput out = lightningStep(bhwc, globalStep, idx, optimizers.get(idx), noise, true);
                log.put(idx == 0 ? "aeloss" : "discloss", (double) out.loss().getFloat());
                out.log().forEach((k, v) -> {
                    log.put(k.startsWith("train/") ? k.substring(6) : k, scalarValue(v));
                    v.close();
                });
                out.loss().close();
            }
        }
        globalStep++;
        return log;
    }

    static double scalarValue(NDArray v) {
        if (v.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32) {
            return v.getFloat();
        }
        try (NDArray c = v.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)) {
            return c.getFloat();
        }
    }

}
