package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * sgm's {@code sgm.models.autoencoder.AutoencodingEngine} (and {@code AutoencoderKL} /
 * {@code AutoencodingEngineLegacy}) in training: the autoencoder plus its {@code loss} ({@link
 * GeneralLPIPSWithDiscriminator}), with the reference's state-dict layout ({@code encoder.*}, {@code
 * decoder.*}, {@code loss.*}, and {@code quant_conv.*} / {@code post_quant_conv.*} for the legacy
 * targets; the modules are those of the wrapped {@link AutoencoderKL}).
 *
 * <p>Size: one file because it is one sgm class's training half (optimizer configuration with
 * parameter groups, Lightning's toggling, the manual-optimisation step), sharing its fields.
 *
 * <p>sgm trains it with manual optimisation ({@code automatic_optimization = False}): each batch
 * steps one optimizer, {@code batch_idx % len(optimizers)}, or the autoencoder's while {@code
 * global_step < disc_start_iter} ({@link #optimizerIndex}). {@link #optimizerStep} is its {@code
 * training_step}: {@code opt.zero_grad()}, then with the optimizer toggled (Lightning's {@code
 * toggle_model}: the other optimizers' parameters stop requiring grad) {@link #trainingStep} and
 * {@code manual_backward}, then {@code opt.step()}. Under Lightning 2 {@code global_step} counts
 * optimizer steps, so with one step per batch it is the batch index.
 *
 * <p>{@link #configureOptimizers}: {@code optimizer_config} ({@code torch.optim.Adam} by default,
 * or {@code torch.optim.AdamW}) over {@link #autoencoderParameters} ({@code loss.logvar} when
 * {@code learn_logvar}, the encoder, the decoder; the legacy quant convs are in no optimizer, as in
 * sgm) with {@code lr_g_factor * learning_rate}, and over the discriminator with {@code
 * learning_rate}; {@code trainable_ae_params} / {@code trainable_disc_params} replace either by
 * regex-selected parameter groups with their own {@code *_optimizer_args}.
 *
 * <p>{@code ema_decay} is rejected: sgm builds its {@code LitEma} before the encoder, decoder and
 * loss exist, so it tracks no parameter and raises {@code KeyError} at the end of the first batch.
 */
public class SgmAutoencoderTrainer extends Module implements AutoencoderTraining {

    /**
     * The result of one training step.
     *
     * @param optimizerIdx the optimizer the step belongs to
     * @param loss the 0-d loss
     * @param log the loss's log dict (keys {@code train/...})
     * @param differentiable false when the loss reaches no parameter (see {@link
     *     GeneralLPIPSWithDiscriminator.Output#differentiable()}): no gradient, no optimizer update
     */
    public record StepOutput(int optimizerIdx, NDArray loss, Map<String, NDArray> log, boolean differentiable) {}

    /**
     * One optimizer of {@link #configureOptimizers}: an {@link AdamW} per parameter group.
     */
    public static final class Optimizer {
        private final List<AdamW> groups;
        private final List<Map<String, Parameter>> groupParams;

        private Optimizer(List<AdamW> groups, List<Map<String, Parameter>> groupParams) {
            this.groups = List.copyOf(groups);
            this.groupParams = List.copyOf(groupParams);
        }

        /**
         * The parameter groups' optimizers, in group order.
         *
         * @return the groups
         */
        public List<AdamW> groups() {
            return groups;
        }

        /**
         * All parameters of the optimizer by full key, in group order.
         *
         * @return a new map
         */
        public Map<String, Parameter> parameters() {
            Map<String, Parameter> out = new LinkedHashMap<>();
            groupParams.forEach(out::putAll);
            return out;
        }

        /**
         * One step of every group from the gradients attached to the parameters.
         */
        public void step() {
            boolean prev = F.setGradEnabled(false);
            try {
                groups.forEach(AdamW::step);
            } finally {
                F.setGradEnabled(prev);
            }
        }

        /**
         * One step of one parameter with an explicit gradient (in the group that holds it).
         *
         * @param name the parameter's full key
         * @param grad its gradient; read, not closed
         * @throws IllegalArgumentException if no group holds {@code name}
         */
        public void step(String name, NDArray grad) {
            for (int i = 0; i < groups.size(); i++) {
                Parameter p = groupParams.get(i).get(name);
                if (p != null) {
                    boolean prev = F.setGradEnabled(false);
                    try {
                        groups.get(i).step(name, p.getArray(), grad);
                    } finally {
                        F.setGradEnabled(prev);
                    }
                    return;
                }
            }
            throw new IllegalArgumentException("no parameter group of this optimizer holds '" + name + "'");
        }
    }

    /** {@code optimizer_config}, the group lists and their args (validated at construction). */
    private record OptimizerSpec(String target, ConfigNode params) {}

    private final AutoencoderKL ae;
    private final GeneralLPIPSWithDiscriminator loss;
    private final OptimizerSpec optimizerSpec;
    private final double lrGFactor;
    private final long discStartIter;
    private final List<List<String>> trainableAeParams;
    private final List<ConfigNode> aeOptimizerArgs;
    private final List<List<String>> trainableDiscParams;
    private final List<ConfigNode> discOptimizerArgs;
    private double learningRate;
    private List<Optimizer> optimizers = List.of();
    private long globalStep;

    /** The keys of {@link #trainBatch}'s log, in a fixed order ({@code optimizer}: the index that stepped). */
    public static final List<String> LOG_KEYS = List.of("optimizer", "loss/total", "loss/nll", "loss/rec", "loss/g",
            "scalars/logvar", "scalars/d_weight", "kl_loss", "loss/disc", "logits/real", "logits/fake");
    private Map<Parameter, Boolean> toggled;

    /**
     * Wraps an autoencoder and its loss with sgm's defaults ({@code torch.optim.Adam}, {@code
     * lr_g_factor} 1, {@code disc_start_iter} 0, no parameter groups).
     *
     * @param ae the autoencoder
     * @param loss its loss
     * @param learningRate {@code learning_rate} ({@code base_learning_rate}, possibly scaled)
     */
    public SgmAutoencoderTrainer(AutoencoderKL ae, GeneralLPIPSWithDiscriminator loss, double learningRate) {
        this(ae, loss, learningRate, new OptimizerSpec("torch.optim.Adam", null), 1.0, 0, null, null, null, null);
    }

    private SgmAutoencoderTrainer(AutoencoderKL ae, GeneralLPIPSWithDiscriminator loss, double learningRate,
            OptimizerSpec optimizerSpec, double lrGFactor, long discStartIter, List<List<String>> trainableAeParams,
            List<ConfigNode> aeOptimizerArgs, List<List<String>> trainableDiscParams, List<ConfigNode> discOptimizerArgs) {
        this.ae = ae;
        register("encoder", ae.getEncoder());
        register("decoder", ae.getDecoder());
        this.loss = register("loss", loss);
        if (ae.children().containsKey("quant_conv")) {
            register("quant_conv", ae.child("quant_conv"));
            register("post_quant_conv", ae.child("post_quant_conv"));
        }
        this.learningRate = learningRate;
        this.optimizerSpec = optimizerSpec;
        this.lrGFactor = lrGFactor;
        this.discStartIter = discStartIter;
        this.trainableAeParams = trainableAeParams;
        this.aeOptimizerArgs = aeOptimizerArgs;
        this.trainableDiscParams = trainableDiscParams;
        this.discOptimizerArgs = discOptimizerArgs;
    }

    /**
     * Builds from {@code sgm.models.autoencoder.AutoencodingEngine} params ({@code encoder_config},
     * {@code decoder_config}, {@code regularizer_config}, {@code loss_config}) or from {@code
     * AutoencoderKL} / {@code AutoencodingEngineLegacy} params ({@code ddconfig}, {@code
     * embed_dim}, {@code lossconfig} or {@code loss_config}), with the training keys {@code
     * optimizer_config}, {@code lr_g_factor}, {@code disc_start_iter}, {@code trainable_ae_params}
     * / {@code ae_optimizer_args}, {@code trainable_disc_params} / {@code disc_optimizer_args}. The
     * learning rate is set with {@link #setLearningRate}.
     *
     * @param p the params node
     * @param inst the instantiator
     * @return the trainer (learning rate 0 until set)
     * @throws ConfigException when the loss is missing or not sgm's {@code
     *     GeneralLPIPSWithDiscriminator}, {@code ema_decay} is set, the optimizer is neither Adam nor
     *     AdamW (or Adam with weight decay), or the parameter groups and their args differ in count
     */
    public static SgmAutoencoderTrainer fromConfig(ConfigNode p, Instantiator inst) {
        if (!p.isNull("ema_decay")) {
            throw new ConfigException(p.pathOf("ema_decay"), "EMA of sgm's AutoencodingEngine is not supported: the "
                    + "reference builds its LitEma before the encoder, decoder and loss exist, so it tracks nothing and "
                    + "fails with KeyError at the end of the first batch; remove ema_decay");
        }
        String lossKey = p.has("loss_config") ? "loss_config" : "lossconfig";
        if (!p.has(lossKey)) {
            throw new ConfigException(p.pathOf("loss_config"), "training the autoencoder needs loss_config");
        }
        GeneralLPIPSWithDiscriminator l = inst.instantiate(p.getNode(lossKey), GeneralLPIPSWithDiscriminator.class);
        OptimizerSpec spec = new OptimizerSpec("torch.optim.Adam", null);
        ConfigNode oc = p.getNodeOrNull("optimizer_config");
        if (oc != null) {
            String target = oc.getString("target");
            if (!target.equals("torch.optim.Adam") && !target.equals("torch.optim.AdamW")) {
                throw new ConfigException(oc.pathOf("target"), "only torch.optim.Adam and torch.optim.AdamW are ported, got "
                        + target);
            }
            spec = new OptimizerSpec(target, oc.getNodeOrEmpty("params"));
            hyperParams(spec, spec.params(), 0.0, oc.pathOf("params"));
        }
        double lrG = p.getDouble("lr_g_factor", 1.0);
        long discStart = p.getLong("disc_start_iter", 0);
        List<List<String>> aeNames = patterns(p, "trainable_ae_params");
        List<ConfigNode> aeArgs = groupArgs(p, "ae_optimizer_args", aeNames, "trainable_ae_params");
        List<List<String>> discNames = patterns(p, "trainable_disc_params");
        List<ConfigNode> discArgs = groupArgs(p, "disc_optimizer_args", discNames, "trainable_disc_params");
        AutoencoderKL a = AutoencoderKL.fromConfig(p, inst);
        return new SgmAutoencoderTrainer(a, l, 0.0, spec, lrG, discStart, aeNames, aeArgs, discNames, discArgs);
    }

    private static List<List<String>> patterns(ConfigNode p, String key) {
        Object raw = p.raw(key);
        if (raw == null) {
            return null;
        }
        List<List<String>> out = new ArrayList<>();
        if (raw instanceof List<?> outer) {
            for (Object o : outer) {
                if (!(o instanceof List<?> inner)) {
                    throw new ConfigException(p.pathOf(key), "expected a list of lists of regex strings, got " + raw);
                }
                List<String> names = new ArrayList<>();
                for (Object s : inner) {
                    if (!(s instanceof String str)) {
                        throw new ConfigException(p.pathOf(key), "expected a list of lists of regex strings, got " + raw);
                    }
                    names.add(str);
                }
                out.add(List.copyOf(names));
            }
            return List.copyOf(out);
        }
        throw new ConfigException(p.pathOf(key), "expected a list of lists of regex strings, got " + raw);
    }

    private static List<ConfigNode> groupArgs(ConfigNode p, String key, List<List<String>> groups, String groupsKey) {
        if (groups == null) {
            p.ignore(key);
            return null;
        }
        if (p.isNull(key)) {
            List<ConfigNode> empty = new ArrayList<>();
            for (int i = 0; i < groups.size(); i++) {
                empty.add(ConfigNode.of(Map.of()));
            }
            return empty;
        }
        List<ConfigNode> args = p.getList(key);
        if (args.size() != groups.size()) {
            throw new ConfigException(p.pathOf(key), args.size() + " argument sets for " + groups.size() + " groups of "
                    + groupsKey);
        }
        return args;
    }

    /** The hyper-parameters of one group: the optimizer's params, then the group's args over them. */
    private static AdamW.Params hyperParams(OptimizerSpec spec, ConfigNode node, double lr, String where) {
        boolean adamW = spec.target().equals("torch.optim.AdamW");
        ConfigNode base = spec.params() == null ? ConfigNode.of(Map.of()) : spec.params();
        double b1 = 0.9;
        double b2 = 0.999;
        for (ConfigNode n : node == base ? List.of(base) : List.of(base, node)) {
            List<Double> betas = n.getDoubleList("betas", List.of(b1, b2));
            if (betas.size() != 2) {
                throw new ConfigException(n.pathOf("betas"), "expected two betas, got " + betas);
            }
            b1 = betas.get(0);
            b2 = betas.get(1);
        }
        double eps = node.getDouble("eps", base.getDouble("eps", 1e-8));
        double wd = node.getDouble("weight_decay", base.getDouble("weight_decay", adamW ? 0.01 : 0.0));
        boolean amsgrad = node.getBoolean("amsgrad", base.getBoolean("amsgrad", false));
        double groupLr = node != base && node.has("lr") ? node.getDouble("lr") : lr;
        if (base.has("lr")) {
            throw new ConfigException(base.pathOf("lr"), "the learning rate comes from model.base_learning_rate "
                    + "(as in sgm), not from optimizer_config.params");
        }
        base.ignore("foreach", "fused", "capturable", "differentiable", "maximize");
        if (!adamW && wd != 0.0) {
            throw new ConfigException(where, "torch.optim.Adam with weight_decay (an L2 term added to the gradient) is "
                    + "not ported; use torch.optim.AdamW or weight_decay 0");
        }
        return new AdamW.Params(groupLr, b1, b2, eps, adamW ? wd : 0.0, amsgrad);
    }

    /**
     * Sets {@code learning_rate} (sgm: {@code base_learning_rate}, possibly scaled by main.py).
     *
     * @param lr the discriminator's learning rate ({@code lr_g_factor} times it for the autoencoder)
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
    public GeneralLPIPSWithDiscriminator getLoss() {
        return loss;
    }

    /**
     * {@code disc_start_iter}: before it every batch steps the autoencoder's optimizer.
     *
     * @return the first global step that may step the discriminator
     */
    public long getDiscStartIter() {
        return discStartIter;
    }

    /**
     * {@code get_autoencoder_params()}: the loss's trainable autoencoder parameters ({@code
     * loss.logvar} when {@code learn_logvar}), then the encoder's and the decoder's, by full key.
     *
     * @return parameters in the reference's order
     */
    public Map<String, Parameter> autoencoderParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        loss.getTrainableAutoencoderParameters().forEach((k, v) -> out.put("loss." + k, v));
        for (String child : List.of("encoder", "decoder")) {
            child(child).namedParameters().forEach((k, v) -> out.put(child + "." + k, v));
        }
        return out;
    }

    /**
     * {@code get_discriminator_params()}: the loss's trainable parameters (the discriminator) by full key.
     *
     * @return parameters in the reference's order
     */
    public Map<String, Parameter> discriminatorParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        loss.getTrainableParameters().forEach((k, v) -> out.put("loss." + k, v));
        return out;
    }

    /**
     * sgm's {@code configure_optimizers}: [opt_ae] or [opt_ae, opt_disc] (the latter only when the
     * discriminator has parameters). Marks the parameters that the reference trains as requiring
     * grad (every parameter but the frozen LPIPS and a {@code logvar} without {@code learn_logvar}).
     *
     * @param manager owns the optimizer state
     * @return the optimizers, also kept for {@link #optimizerStep}
     */
    public List<Optimizer> configureOptimizers(NDManager manager) {
        for (Parameter p : namedParameters().values()) {
            NDArray a = p.getArray();
            if (a.hasGradient() != p.requiresGrad()) {
                a.setRequiresGradient(p.requiresGrad());
            }
        }
        Optimizer optAe = build(trainableAeParams, aeOptimizerArgs, autoencoderParameters(), lrGFactor * learningRate,
                manager);
        List<Optimizer> opts = new ArrayList<>(List.of(optAe));
        Optimizer optDisc = build(trainableDiscParams, discOptimizerArgs, discriminatorParameters(), learningRate, manager);
        if (!optDisc.parameters().isEmpty()) {
            opts.add(optDisc);
        }
        this.optimizers = List.copyOf(opts);
        return optimizers;
    }

    private Optimizer build(List<List<String>> groups, List<ConfigNode> args, Map<String, Parameter> defaults, double lr,
            NDManager manager) {
        List<AdamW> adams = new ArrayList<>();
        List<Map<String, Parameter>> params = new ArrayList<>();
        if (groups == null) {
            ConfigNode base = optimizerSpec.params() == null ? ConfigNode.of(Map.of()) : optimizerSpec.params();
            adams.add(new AdamW(defaults, hyperParams(optimizerSpec, base, lr, "optimizer_config"), manager));
            params.add(defaults);
            return new Optimizer(adams, params);
        }
        Map<String, Parameter> all = namedParameters();
        for (int i = 0; i < groups.size(); i++) {
            Map<String, Parameter> selected = new LinkedHashMap<>();
            for (String pattern : groups.get(i)) {
                Pattern re = Pattern.compile(pattern);
                int before = selected.size();
                all.forEach((k, v) -> {
                    if (re.matcher(k).lookingAt()) {
                        selected.put(k, v);
                    }
                });
                if (selected.size() == before) {
                    org.slf4j.LoggerFactory.getLogger(SgmAutoencoderTrainer.class)
                            .warn("Did not find parameters for pattern {}", pattern);
                }
            }
            adams.add(new AdamW(selected, hyperParams(optimizerSpec, args.get(i), lr, "optimizer args " + i), manager));
            params.add(selected);
        }
        return new Optimizer(adams, params);
    }

    /**
     * The optimizer a batch steps: {@code batch_idx % n}, or 0 while {@code global_step <
     * disc_start_iter}.
     *
     * @param batchIdx the batch index
     * @param globalStep the global step
     * @param numOptimizers how many optimizers {@link #configureOptimizers} returned
     * @return the optimizer index
     */
    public int optimizerIndex(long batchIdx, long globalStep, int numOptimizers) {
        if (globalStep < discStartIter) {
            return 0;
        }
        return (int) (batchIdx % numOptimizers);
    }

    /**
     * Lightning's {@code toggle_optimizer}: the parameters of every optimizer stop requiring grad,
     * then those of optimizer {@code optimizerIdx} get their previous flag back.
     *
     * @param optimizerIdx the optimizer to train
     * @throws IllegalStateException before {@link #configureOptimizers} or when already toggled
     */
    public void toggleOptimizer(int optimizerIdx) {
        checkIdx(optimizerIdx);
        if (toggled != null) {
            throw new IllegalStateException("an optimizer is already toggled");
        }
        Map<Parameter, Boolean> state = new IdentityHashMap<>();
        for (Optimizer o : optimizers) {
            for (Parameter p : o.parameters().values()) {
                if (!state.containsKey(p)) {
                    state.put(p, p.getArray().hasGradient());
                    setRequires(p, false);
                }
            }
        }
        for (Parameter p : optimizers.get(optimizerIdx).parameters().values()) {
            setRequires(p, state.get(p));
        }
        toggled = state;
    }

    /**
     * Lightning's {@code untoggle_optimizer}: every parameter gets the flag it had before {@link
     * #toggleOptimizer}.
     */
    public void untoggleOptimizer() {
        if (toggled == null) {
            return;
        }
        toggled.forEach(SgmAutoencoderTrainer::setRequires);
        toggled = null;
    }

    private static void setRequires(Parameter p, boolean requires) {
        NDArray a = p.getArray();
        if (a.hasGradient() != requires) {
            a.setRequiresGradient(requires);
        }
    }

    private void checkIdx(int optimizerIdx) {
        if (optimizers.isEmpty()) {
            throw new IllegalStateException("call configureOptimizers first");
        }
        if (optimizerIdx < 0 || optimizerIdx >= optimizers.size()) {
            throw new IllegalArgumentException("optimizer_idx must be in [0, " + optimizers.size() + "), got " + optimizerIdx);
        }
    }

    /**
     * sgm's {@code inner_training_step(batch, batch_idx, optimizer_idx)} with {@code global_step}:
     * {@code z, xrec, reg_log = self(x)} (a posterior sample from {@code noise}), then the loss with
     * {@code last_layer = decoder.conv_out.weight}. Runs with autograd recording.
     *
     * @param x the batch's {@code input_key} entry, images (B, C, H, W) in [-1, 1]
     * @param globalStep the global step
     * @param optimizerIdx 0 (autoencoder) or 1 (discriminator)
     * @param noise the source of the posterior sample and of LPIPS's dropout masks
     * @return the loss and its log
     */
    public StepOutput trainingStep(NDArray x, long globalStep, int optimizerIdx, NoiseSource noise) {
        if (optimizerIdx != 0 && optimizerIdx != 1) {
            throw new IllegalArgumentException("optimizer_idx must be 0 or 1, got " + optimizerIdx);
        }
        setNoiseSource(noise);
        boolean prev = F.setGradEnabled(true);
        try (NDList out = ae.forward(x, noise)) {
            NDArray dec = out.get(1);
            Map<String, NDArray> regLog = new LinkedHashMap<>();
            regLog.put("kl_loss", out.get(2));
            NDArray lastLayer = ae.getDecoder().tensor("conv_out.weight").getArray();
            GeneralLPIPSWithDiscriminator.Output o = loss.forward(x, dec, regLog, optimizerIdx, globalStep,
                    lastLayer, "train", null);
            return new StepOutput(optimizerIdx, o.loss(), o.log(), o.differentiable());
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * {@code opt.zero_grad()} for optimizer {@code optimizerIdx}.
     *
     * @param optimizerIdx the optimizer
     */
    public void zeroGrad(int optimizerIdx) {
        checkIdx(optimizerIdx);
        for (Parameter p : optimizers.get(optimizerIdx).parameters().values()) {
            F.zeroGrad(p.getArray());
        }
    }

    /**
     * {@code manual_backward(loss)} for a step of optimizer {@code optimizerIdx}: first clears what
     * the adaptive weight's backward passes left in that optimizer's gradients (torch computes those
     * with {@code autograd.grad}, which does not accumulate), then backpropagates. A loss without a
     * graph ({@link StepOutput#differentiable()} false) reaches no parameter: nothing happens.
     *
     * @param step the step's output
     */
    public void backward(StepOutput step) {
        zeroGrad(step.optimizerIdx());
        if (!step.differentiable()) {
            return;
        }
        boolean prev = F.setGradEnabled(true);
        try {
            F.backward(step.loss(), false);
        } finally {
            F.setGradEnabled(prev);
        }
    }

    /**
     * The gradients after {@link #backward}: the parameters of the step's optimizer that received
     * one (none for a loss without a graph), by full key.
     *
     * @param step the step's output
     * @return detached copies of the gradients
     */
    public Map<String, NDArray> gradients(StepOutput step) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (!step.differentiable()) {
            return out;
        }
        optimizers.get(step.optimizerIdx()).parameters().forEach((k, p) -> {
            if (p.getArray().hasGradient()) {
                try (NDArray g = p.getArray().getGradient()) {
                    out.put(k, g.duplicate());
                }
            }
        });
        return out;
    }

    /**
     * sgm's {@code training_step(batch, batch_idx)}: picks the optimizer ({@link #optimizerIndex}),
     * {@code opt.zero_grad()}, toggles it, {@link #trainingStep}, {@code manual_backward}, untoggles,
     * {@code opt.step()} (skipped when the loss reached no parameter, as torch's optimizers skip
     * parameters without {@code .grad}).
     *
     * @param x the batch's images (B, C, H, W)
     * @param batchIdx the batch index
     * @param globalStep the global step (under Lightning 2: optimizer steps so far)
     * @param noise the source of the random draws
     * @return the step's output
     * @throws IllegalStateException before {@link #configureOptimizers}
     */
    public StepOutput optimizerStep(NDArray x, long batchIdx, long globalStep, NoiseSource noise) {
        if (optimizers.isEmpty()) {
            throw new IllegalStateException("call configureOptimizers first");
        }
        train();
        int idx = optimizerIndex(batchIdx, globalStep, optimizers.size());
        zeroGrad(idx);
        StepOutput out;
        toggleOptimizer(idx);
        try {
            out = trainingStep(x, globalStep, idx, noise);
            backward(out);
        } finally {
            untoggleOptimizer();
        }
        if (out.differentiable()) {
            optimizers.get(idx).step();
        }
        return out;
    }

    /**
     * Allocates the tree, attaches the wrapped autoencoder to the same manager and loads the loss's
     * pretrained LPIPS weights (when it uses them).
     *
     * @param manager owns the arrays
     * @param noise the source of the initialisers' draws
     */
    @Override
    public void initialize(NDManager manager, NoiseSource noise) {
        super.initialize(manager, noise);
        getAutoencoder().attach(manager);
        getLoss().loadPretrainedLpips();
    }

    @Override
    public Module module() {
        return this;
    }

    @Override
    public List<AdamW> configureOptimizers(NDManager manager, double lr) {
        setLearningRate(lr);
        configureOptimizers(manager);
        return getOptimizers();
    }

    /**
     * Every parameter group's Adam of every optimizer, flattened in order (optimizer 0's groups, then
     * optimizer 1's): the states a checkpoint holds.
     *
     * @return the group optimizers
     */
    @Override
    public List<AdamW> getOptimizers() {
        List<AdamW> out = new ArrayList<>();
        optimizers.forEach(o -> out.addAll(o.groups()));
        return out;
    }

    @Override
    public double getLearningRate() {
        return learningRate;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        optimizers.forEach(o -> out.putAll(o.parameters()));
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

    @Override
    public List<String> logKeys() {
        return LOG_KEYS;
    }

    /**
     * sgm under manual optimisation: {@link #optimizerStep} with the batch index and the global
     * step, then the global step advances (one optimizer step per batch).
     *
     * @param images the batch [B, C, H, W] in [-1, 1]
     * @param batchIdx the batch index
     * @param noise the source of the random draws
     * @return {@code optimizer} (the index that stepped) and the loss's log values
     * @throws io.github.sgm4j.optim.NonFiniteLossException when the loss is NaN or infinite (checked
     *     before the update)
     */
    @Override
    public Map<String, Double> trainBatch(NDArray images, long batchIdx, NoiseSource noise) {
        if (optimizers.isEmpty()) {
            throw new IllegalStateException("configureOptimizers(manager, lr) was not called");
        }
        train();
        int idx = optimizerIndex(batchIdx, globalStep, optimizers.size());
        zeroGrad(idx);
        StepOutput out;
        toggleOptimizer(idx);
        try {
            out = trainingStep(images, globalStep, idx, noise);
            double l = out.loss().getFloat();
            if (!Double.isFinite(l)) {
                throw new io.github.sgm4j.optim.NonFiniteLossException(globalStep + 1, l);
            }
            backward(out);
        } finally {
            untoggleOptimizer();
        }
        if (out.differentiable()) {
            optimizers.get(idx).step();
        }
        Map<String, Double> log = new LinkedHashMap<>();
        log.put("optimizer", (double) idx);
        out.log().forEach((k, v) -> {
            log.put(k.startsWith("train/") ? k.substring(6) : k, LdmAutoencoderTrainer.scalarValue(v));
            v.close();
        });
        out.loss().close();
        globalStep++;
        return log;
    }
}
