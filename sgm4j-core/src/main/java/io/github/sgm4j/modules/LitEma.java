package io.github.sgm4j.modules;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Port of {@code sgm.modules.ema.LitEma} (identical to ldm's): an exponential moving average of a
 * model's trainable parameters, kept as buffers so it is saved with the checkpoint.
 *
 * <p>State-dict layout as in the reference: {@code decay} (float32 0-d), {@code num_updates}
 * (int32 0-d; -1 when the warm-up schedule is off) and one shadow buffer per trainable parameter,
 * named with the dots removed ({@code diffusion_model.out.2.weight} becomes {@code
 * diffusion_modelout2weight}). Frozen parameters get no shadow.
 *
 * <p>With {@code use_num_upates} (sic, the reference's spelling) the effective decay is {@code
 * min(decay, (1 + n) / (10 + n))} computed in float32 after incrementing {@code n}.
 */
public class LitEma extends Module {

    /**
     * Constructor arguments with the reference's defaults.
     *
     * @param decay the EMA decay in [0, 1] (default 0.9999)
     * @param useNumUpdates the warm-up schedule (default true; YAML key {@code use_num_upates})
     */
    public record Params(double decay, boolean useNumUpdates) {
        /**
         * The reference defaults: decay 0.9999, warm-up on.
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(0.9999, true);
        }
    }

    private final Map<String, String> mName2sName = new LinkedHashMap<>();
    private final Map<String, Parameter> modelParams = new LinkedHashMap<>();
    private final Parameter decay;
    private Parameter numUpdates;
    private final List<NDArray> collectedParams = new ArrayList<>();
    private boolean scopeOpen;

    /**
     * Creates the EMA of {@code model}'s trainable parameters. The shadows are initialised from the
     * model's current values when {@link #initialize} runs (the model must be allocated first), or
     * loaded from a checkpoint.
     *
     * @param model the tracked model
     * @param params the constructor arguments (see {@code Params})
     */
    public LitEma(Module model, Params params) {
        if (params.decay() < 0.0 || params.decay() > 1.0) {
            throw new IllegalArgumentException("Decay must be between 0 and 1, got " + params.decay());
        }
        float decay32 = (float) params.decay();
        this.decay = buffer("decay", new Shape(), DataType.FLOAT32, Init.values(new float[] {decay32}), true);
        int start = params.useNumUpdates() ? 0 : -1;
        this.numUpdates = buffer("num_updates", new Shape(), DataType.INT32, intInit(start), true);
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (p.requiresGrad()) {
                // remove '.' since buffer names cannot contain it
                String sName = e.getKey().replace(".", "");
                mName2sName.put(e.getKey(), sName);
                modelParams.put(e.getKey(), p);
                buffer(sName, p.getShape(), p.getDataType(), (m, s, d, n) -> p.getArray().duplicate(), true);
            }
        }
    }

    /**
     * {@code LitEma(model, decay, use_num_upates)}.
     *
     * @param model the tracked model
     * @param decay the EMA decay in [0, 1]
     * @param useNumUpdates whether the warm-up schedule is on ({@code use_num_upates})
     */
    public LitEma(Module model, double decay, boolean useNumUpdates) {
        this(model, new Params(decay, useNumUpdates));
    }

    /**
     * Builds from {@code sgm.modules.ema.LitEma} params ({@code decay}, {@code use_num_upates}); the
     * tracked model comes from the instantiator context key {@code "model"}.
     *
     * @param params the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code LitEma}
     */
    public static LitEma fromConfig(ConfigNode params, Instantiator inst) {
        Module model = inst.requireContext("model", Module.class, params.path());
        Params d = Params.defaults();
        return new LitEma(model, new Params(
                params.getDouble("decay", d.decay()), params.getBoolean("use_num_upates", d.useNumUpdates())));
    }

    private static Init intInit(int value) {
        return (m, s, d, n) -> Tensors.create(m, new int[] {value}).reshape(new Shape());
    }

    /**
     * The parameter name to shadow-buffer name map ({@code m_name2s_name}).
     *
     * @return an unmodifiable map from parameter name to shadow-buffer name
     */
    public Map<String, String> getNameMap() {
        return Collections.unmodifiableMap(mName2sName);
    }

    /**
     * The current {@code num_updates} value.
     *
     * @return the update count, or -1 when the warm-up is off
     */
    public int getNumUpdates() {
        return numUpdates.getArray().toType(DataType.INT32, false).getInt();
    }

    /**
     * The configured decay as the float32 buffer holds it.
     *
     * @return the decay
     */
    public float getDecay() {
        return decay.getArray().getFloat();
    }

    /** {@code reset_num_updates()}: re-registers {@code num_updates = 0} (int32). */
    public void resetNumUpdates() {
        removeTensor("num_updates");
        numUpdates = buffer("num_updates", new Shape(), DataType.INT32, intInit(0), true);
        if (isAttached()) {
            initializeOwn();
        }
    }

    private void initializeOwn() {
        NDManager m = getManager();
        numUpdates.setArray(Tensors.create(m, new int[] {0}).reshape(new Shape()), m);
    }

    /**
     * {@code forward(model)}: one EMA update of every shadow toward the model's current trainable
     * parameters, {@code shadow -= (1 - decay) * (shadow - param)}.
     *
     * @param model the tracked model
     */
    public void update(Module model) {
        NDManager m = getManager();
        float decayValue = getDecay();
        int n = getNumUpdates();
        if (n >= 0) {
            n += 1;
            numUpdates.setArray(Tensors.create(m, new int[] {n}).reshape(new Shape()), m);
            // (1 + num_updates) / (10 + num_updates): int32 tensors, float32 true division
            float warm = (float) (1 + n) / (float) (10 + n);
            // python min(a, b) keeps a unless b < a
            decayValue = warm < decayValue ? warm : decayValue;
        }
        float oneMinusDecay = 1.0f - decayValue;
        Map<String, Parameter> current = model.namedParameters();
        for (Map.Entry<String, Parameter> e : current.entrySet()) {
            Parameter p = e.getValue();
            String sName = mName2sName.get(e.getKey());
            if (!p.requiresGrad()) {
                if (sName != null) {
                    throw new IllegalStateException("parameter '" + e.getKey() + "' is frozen but has an EMA shadow");
                }
                continue;
            }
            if (sName == null) {
                throw new IllegalStateException(
                        "parameter '" + e.getKey() + "' has no EMA shadow: the model changed after LitEma was built");
            }
            Parameter shadow = ownTensors().get(sName);
            NDArray param = p.getArray();
            NDArray s = shadow.getArray();
            if (s.getDataType() != param.getDataType()) {
                shadow.setArray(s.toType(param.getDataType(), false), m);
                s = shadow.getArray();
            }
            try (NDArray diff = s.sub(param);
                    NDArray step = F.mul(diff, oneMinusDecay)) {
                s.subi(step);
            }
        }
    }

    /**
     * {@code copy_to(model)}: writes the shadows into the model's trainable parameters.
     *
     * @param model the tracked model
     */
    public void copyTo(Module model) {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            String sName = mName2sName.get(e.getKey());
            if (!p.requiresGrad()) {
                continue;
            }
            if (sName == null) {
                throw new IllegalStateException("parameter '" + e.getKey() + "' has no EMA shadow");
            }
            p.setArray(ownTensors().get(sName).getArray(), model.getManager());
        }
    }

    /**
     * {@code store(parameters)}: keeps copies of {@code parameters} for {@link #restore}.
     *
     * @param parameters the parameters, in a fixed order
     */
    public void store(List<Parameter> parameters) {
        clearCollected();
        for (Parameter p : parameters) {
            NDArray copy = p.getArray().duplicate();
            copy.attach(getManager());
            ai.djl.ndarray.NDScope.unregister(copy);
            collectedParams.add(copy);
        }
    }

    /**
     * {@code restore(parameters)}: writes the stored copies back, in the same order, then frees them.
     *
     * @param parameters the parameters, in a fixed order
     */
    public void restore(List<Parameter> parameters) {
        int n = Math.min(parameters.size(), collectedParams.size());
        for (int i = 0; i < n; i++) {
            Parameter p = parameters.get(i);
            p.setArray(collectedParams.get(i), p.getArray().getManager());
        }
        clearCollected();
    }

    /**
     * The number of parameter copies held by {@link #store} (0 once restored).
     *
     * @return the number of stored copies
     */
    public int storedCount() {
        return collectedParams.size();
    }

    /**
     * {@code ema_scope()} over {@code model}: stores its parameters, copies the EMA weights in, and
     * returns the scope whose {@code close()} restores them and frees the copies. Re-entrant: while
     * a scope is open, a nested call returns a no-op scope (the outer one restores the training
     * weights).
     *
     * @param model the tracked model
     * @return the open scope; close it to restore the training weights
     */
    public EmaScope scope(Module model) {
        if (scopeOpen) {
            return EmaScope.none();
        }
        List<Parameter> ps = new ArrayList<>(model.namedParameters().values());
        store(ps);
        try {
            copyTo(model);
        } catch (RuntimeException e) {
            restore(ps);
            throw e;
        }
        scopeOpen = true;
        return new EmaScope(() -> {
            try {
                restore(ps);
            } finally {
                scopeOpen = false;
            }
        });
    }

    private void clearCollected() {
        for (NDArray a : collectedParams) {
            a.close();
        }
        collectedParams.clear();
    }
}
