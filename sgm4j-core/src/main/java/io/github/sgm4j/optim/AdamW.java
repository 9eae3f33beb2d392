package io.github.sgm4j.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Port of {@code torch.optim.AdamW} (the single-tensor implementation, one parameter group), with
 * the same operation order as torch so updates match it to float32 rounding:
 *
 * <pre>
 * step += 1
 * p *= 1 - lr * weight_decay
 * m = m * beta1 + (1 - beta1) * g
 * v = v * beta2 + (1 - beta2) * g * g
 * p += -(lr / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * </pre>
 *
 * <p>State ({@code exp_avg}, {@code exp_avg_sq}, {@code step}) is kept per parameter name so that it
 * can be saved with a checkpoint and restored exactly ({@link #stateDict}, {@link #loadStateDict}).
 */
public final class AdamW {

    /**
     * Hyper-parameters with torch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
     * 0.01, amsgrad off).
     *
     * @param lr learning rate (before any scheduler multiplier)
     * @param beta1 first-moment decay
     * @param beta2 second-moment decay
     * @param eps denominator term
     * @param weightDecay decoupled weight decay
     * @param amsgrad keep the running maximum of the second moment
     */
    public record Params(double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        /**
         * Validates like torch.
         *
         * @param lr learning rate, non-negative
         * @param beta1 first-moment decay in [0, 1)
         * @param beta2 second-moment decay in [0, 1)
         * @param eps denominator term, non-negative
         * @param weightDecay decoupled weight decay, non-negative
         * @param amsgrad keep the running maximum of the second moment
         * @throws IllegalArgumentException if a value is out of range (same checks and messages as torch)
         */
        public Params {
            if (lr < 0) {
                throw new IllegalArgumentException("Invalid learning rate: " + lr);
            }
            if (eps < 0) {
                throw new IllegalArgumentException("Invalid epsilon value: " + eps);
            }
            if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
                throw new IllegalArgumentException("Invalid beta parameters: (" + beta1 + ", " + beta2 + ")");
            }
            if (weightDecay < 0) {
                throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay);
            }
        }

        /**
         * Reads {@code torch.optim.AdamW} params ({@code betas}, {@code eps}, {@code weight_decay},
         * {@code amsgrad}); the learning rate comes from the model's {@code base_learning_rate}.
         *
         * @param params the optimizer's params node
         * @param lr the learning rate
         * @return the hyper-parameters
         * @throws io.github.sgm4j.config.ConfigException if {@code betas} is not a pair or {@code lr} is
         *     given in the node
         */
        public static Params fromConfig(ConfigNode params, double lr) {
            java.util.List<Double> betas = params.getDoubleList("betas", java.util.List.of(0.9, 0.999));
            if (betas.size() != 2) {
                throw new io.github.sgm4j.config.ConfigException(params.pathOf("betas"),
                        "expected two betas, got " + betas);
            }
            if (params.has("lr")) {
                throw new io.github.sgm4j.config.ConfigException(params.pathOf("lr"),
                        "the learning rate comes from model.base_learning_rate (as in sgm), not from optimizer params");
            }
            params.ignore("foreach", "fused", "capturable", "differentiable");
            return new Params(lr, betas.get(0), betas.get(1), params.getDouble("eps", 1e-8),
                    params.getDouble("weight_decay", 0.01), params.getBoolean("amsgrad", false));
        }

        /**
         * torch's defaults with the given learning rate.
         *
         * @param lr the learning rate
         * @return betas (0.9, 0.999), eps 1e-8, weight decay 0.01, amsgrad off
         */
        public static Params withLr(double lr) {
            return new Params(lr, 0.9, 0.999, 1e-8, 0.01, false);
        }
    }

    /**
     * The {@code target: torch.optim.AdamW} factory: its hyper-parameters (the optimizer itself is
     * created by the model over its trainable parameters, as Lightning's {@code
     * configure_optimizers}); the learning rate is a placeholder of 1e-4 that the model replaces by
     * its {@code base_learning_rate}.
     *
     * @param params the {@code params} node of {@code optimizer_config}
     * @param inst the instantiator (unused)
     * @return the hyper-parameters
     * @throws io.github.sgm4j.config.ConfigException when a value is invalid or {@code lr} is given
     */
    public static Params fromConfig(ConfigNode params, Instantiator inst) {
        return Params.fromConfig(params, 1e-4);
    }

    private final Map<String, Parameter> params;
    private final Params hp;
    private final NDManager manager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final Map<String, NDArray> maxExpAvgSq = new LinkedHashMap<>();
    private final Map<String, Long> steps = new LinkedHashMap<>();
    private double lr;

    /**
     * An optimizer over {@code params}; state is created lazily at each parameter's first step.
     *
     * @param params the parameters to optimise, by name, in the order of the param group
     * @param hp hyper-parameters
     * @param manager owns the optimizer state
     */
    public AdamW(Map<String, Parameter> params, Params hp, NDManager manager) {
        this.params = new LinkedHashMap<>(params);
        this.hp = hp;
        this.manager = manager;
        this.lr = hp.lr();
    }

    /**
     * The hyper-parameters.
     *
     * @return the hyper-parameters given at construction (their {@code lr} is the initial one)
     */
    public Params getParams() {
        return hp;
    }

    /**
     * The learning rate used by the next step (a scheduler sets it).
     *
     * @return the current learning rate
     */
    public double getLr() {
        return lr;
    }

    /**
     * Sets the learning rate of the next step ({@code param_group["lr"]}).
     *
     * @param lr the learning rate
     */
    public void setLr(double lr) {
        this.lr = lr;
    }

    /**
     * The parameter names in group order.
     *
     * @return a new list
     */
    public List<String> names() {
        return new ArrayList<>(params.keySet());
    }

    /**
     * One update from the gradients currently attached to the parameter arrays ({@code
     * NDArray.getGradient()}); parameters without a gradient are skipped like torch's {@code
     * p.grad is None}.
     *
     * <p>The scalar operands of the update ({@code 1 - lr * weight_decay}, the betas, the bias
     * corrections, eps, the step size) are 0-d arrays created once per step and shared by all
     * parameters with the same step count and dtype, instead of once per parameter and operation
     * (issue 15: 8 of the ~24 native calls per parameter were such {@code torch.full}s); the
     * arithmetic is the same op for op, so updates are bit-identical to {@link #step(String,
     * NDArray, NDArray)}.
     */
    public void step() {
        if (stepInOneCall()) {
            return;
        }
        Map<String, Scalars> shared = new java.util.HashMap<>();
        try {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray p = e.getValue().getArray();
                if (!p.hasGradient()) {
                    continue;
                }
                long step = steps.getOrDefault(e.getKey(), 0L) + 1;
                Scalars c = shared.computeIfAbsent(step + "/" + p.getDataType(), k -> new Scalars(p, step));
                try (NDArray g = p.getGradient()) {
                    update(e.getKey(), p, g, c);
                }
            }
        } finally {
            shared.values().forEach(Scalars::close);
        }
    }

    /**
     * The usual case of {@link #step()} in one native call ({@code F.adamwUpdate}): every parameter
     * that takes part is float32 and at the same step count, AMSGrad off. The arithmetic is {@link
     * #update}'s op for op, so the result is bit-identical (issue 15: the per-parameter form costs
     * ~16 JNI calls per parameter, 6 000 per step of the MNIST UNet).
     *
     * @return false, having changed nothing, when the step must go parameter by parameter
     */
    private boolean stepInOneCall() {
        if (hp.amsgrad()) {
            return false;
        }
        List<String> names = new ArrayList<>(params.size());
        List<NDArray> ps = new ArrayList<>(params.size());
        long previous = -1;
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray p = e.getValue().getArray();
            if (!p.hasGradient()) {
                continue;
            }
            long s = steps.getOrDefault(e.getKey(), 0L);
            if (p.getDataType() != DataType.FLOAT32 || (previous >= 0 && s != previous)) {
                return false;
            }
            previous = s;
            names.add(e.getKey());
            ps.add(p);
        }
        if (ps.isEmpty()) {
            return false;
        }
        List<NDArray> ms = new ArrayList<>(ps.size());
        List<NDArray> vs = new ArrayList<>(ps.size());
        for (int i = 0; i < ps.size(); i++) {
            NDArray p = ps.get(i);
            ms.add(expAvg.computeIfAbsent(names.get(i), k -> attach(p.zerosLike())));
            vs.add(expAvgSq.computeIfAbsent(names.get(i), k -> attach(p.zerosLike())));
        }
        long step = previous + 1;
        List<NDArray> grads = new ArrayList<>(ps.size());
        try (Scalars c = new Scalars(ps.get(0), step)) {
            for (NDArray p : ps) {
                grads.add(p.getGradient());
            }
            if (!F.adamwUpdate(ps, grads, ms, vs, c.decay, c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.bc2Sqrt,
                    c.eps, c.negStepSize)) {
                return false;
            }
        } finally {
            grads.forEach(NDArray::close);
        }
        for (String name : names) {
            steps.put(name, step);
        }
        return true;
    }

    /**
     * One update of a single parameter with an explicit gradient (used by tests with recorded gradients).
     *
     * @param name the parameter's key in the optimizer state
     * @param p the parameter array, updated in place (call with autograd disabled, see {@link
     *     io.github.sgm4j.nn.GradMode})
     * @param grad its gradient, same shape; read, not closed
     */
    public void step(String name, NDArray p, NDArray grad) {
        try (Scalars c = new Scalars(p, steps.getOrDefault(name, 0L) + 1)) {
            update(name, p, grad, c);
        }
    }

    /**
     * The 0-d operands of one update at a given step count, in the dtype {@code nn.F}'s scalar ops
     * give them (the parameter's for float32/float64, float64 otherwise), so that {@code x.mul(c)}
     * computes what {@code F.mul(x, value)} computes.
     */
    private final class Scalars implements AutoCloseable {
        final long step;
        final NDArray decay;
        final NDArray beta1;
        final NDArray oneMinusBeta1;
        final NDArray beta2;
        final NDArray oneMinusBeta2;
        final NDArray bc2Sqrt;
        final NDArray eps;
        final NDArray negStepSize;

        Scalars(NDArray like, long step) {
            this.step = step;
            double b1 = hp.beta1();
            double b2 = hp.beta2();
            double bc1 = 1 - Math.pow(b1, step);
            double bc2 = 1 - Math.pow(b2, step);
            // the operands F's scalar ops would make (an exploding learning rate beyond float32's
            // range becomes +-inf in the update, as torch does, instead of failing here)
            decay = F.scalarFor(like, 1 - lr * hp.weightDecay());
            beta1 = F.scalarFor(like, b1);
            oneMinusBeta1 = F.scalarFor(like, 1 - b1);
            beta2 = F.scalarFor(like, b2);
            oneMinusBeta2 = F.scalarFor(like, 1 - b2);
            bc2Sqrt = F.scalarFor(like, Math.sqrt(bc2));
            eps = F.scalarFor(like, hp.eps());
            negStepSize = F.scalarFor(like, -(lr / bc1));
        }

        @Override
        public void close() {
            for (NDArray a : new NDArray[] {decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize}) {
                a.close();
            }
        }
    }

    private void update(String name, NDArray p, NDArray grad, Scalars c) {
        NDArray m = expAvg.computeIfAbsent(name, k -> attach(p.zerosLike()));
        NDArray v = expAvgSq.computeIfAbsent(name, k -> attach(p.zerosLike()));
        steps.put(name, c.step);
        // param.mul_(1 - lr * weight_decay)
        p.muli(c.decay);
        // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        m.muli(c.beta1);
        try (NDArray ga = grad.mul(c.oneMinusBeta1)) {
            m.addi(ga);
        }
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        v.muli(c.beta2);
        try (NDArray gv = grad.mul(c.oneMinusBeta2);
                NDArray gg = gv.mul(grad)) {
            v.addi(gg);
        }
        NDArray second = v;
        if (hp.amsgrad()) {
            NDArray max = maxExpAvgSq.computeIfAbsent(name, k -> attach(p.zerosLike()));
            NDArray updated = attach(max.maximum(v));
            max.close();
            maxExpAvgSq.put(name, updated);
            second = updated;
        }
        // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        // sqrt correctly rounded like torch 1.13's (libtorch 2.7's is off by an ulp at times)
        try (NDArray s = F.sqrtExact(second);
                NDArray d = s.div(c.bc2Sqrt);
                NDArray denom = d.add(c.eps);
                // param.addcdiv_(exp_avg, denom, value=-step_size)
                NDArray num = m.mul(c.negStepSize);
                NDArray upd = num.div(denom)) {
            p.addi(upd);
        }
    }

    private NDArray attach(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }

    /**
     * The optimizer state by key: {@code <param>.exp_avg}, {@code <param>.exp_avg_sq} (and {@code
     * .max_exp_avg_sq}) arrays; steps are returned by {@link #stepCounts()}.
     *
     * @return a new map of the live state arrays (owned by the optimizer's manager: do not close them); only
     *     parameters that have taken a step have entries
     */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String name : params.keySet()) {
            if (expAvg.containsKey(name)) {
                out.put(name + ".exp_avg", expAvg.get(name));
                out.put(name + ".exp_avg_sq", expAvgSq.get(name));
                if (maxExpAvgSq.containsKey(name)) {
                    out.put(name + ".max_exp_avg_sq", maxExpAvgSq.get(name));
                }
            }
        }
        return out;
    }

    /**
     * The step count of every parameter that has state.
     *
     * @return a new map from parameter name to its number of steps
     */
    public Map<String, Long> stepCounts() {
        return new LinkedHashMap<>(steps);
    }

    /**
     * Restores state saved by {@link #stateDict} and {@link #stepCounts}; arrays are copied.
     *
     * @param state arrays by the keys of {@link #stateDict}; copied into the optimizer's manager
     * @param stepCounts step counts by parameter name
     * @throws IllegalArgumentException if a parameter has some of {@code exp_avg}, {@code exp_avg_sq} and a
     *     step count but not all three
     */
    public void loadStateDict(Map<String, NDArray> state, Map<String, Long> stepCounts) {
        for (String name : params.keySet()) {
            NDArray m = state.get(name + ".exp_avg");
            NDArray v = state.get(name + ".exp_avg_sq");
            Long s = stepCounts.get(name);
            if (m == null && v == null && s == null) {
                continue;
            }
            if (m == null || v == null || s == null) {
                throw new IllegalArgumentException("incomplete AdamW state for parameter '" + name + "'");
            }
            replace(expAvg, name, m);
            replace(expAvgSq, name, v);
            NDArray mx = state.get(name + ".max_exp_avg_sq");
            if (mx != null) {
                replace(maxExpAvgSq, name, mx);
            }
            steps.put(name, s);
        }
    }

    private void replace(Map<String, NDArray> map, String name, NDArray value) {
        NDArray copy = value.duplicate();
        copy.attach(manager);
        NDScope.unregister(copy);
        NDArray old = map.put(name, copy);
        if (old != null) {
            old.close();
        }
    }
}
