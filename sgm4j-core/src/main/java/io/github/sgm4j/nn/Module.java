package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The PyTorch-named module tree sgm4j builds every network from ({@code torch.nn.Module}).
 *
 * <p>Size: the module tree (registration under PyTorch names, state dict, strict loading, weight-free
 * key listings, initialisation, train/eval modes) is one abstraction, like {@code torch.nn.Module};
 * about half of the file is Javadoc.
 *
 * <p>Children, parameters and buffers are registered under their PyTorch attribute names, so
 * {@link #stateDict()} keys are exactly the reference checkpoint's keys ({@code
 * down.0.block.1.norm1.weight}). Shapes are fixed at construction: {@link #stateDictSpec()} lists
 * every key of a full-size model without allocating a single weight. Arrays are created by {@link
 * #initialize} (PyTorch-like default init) or {@link #loadStateDict}.
 *
 * <p>Subclasses define their own {@code forward} methods with the argument lists of the Python
 * forward; layers that map one array to one array implement {@link UnaryModule}.
 */
public abstract class Module {

    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Map<String, Parameter> tensors = new LinkedHashMap<>();
    private boolean training = true;
    private NDManager manager;
    private NoiseSource noise;

    /**
     * Registers a child module under its PyTorch attribute name and returns it.
     *
     * @param <M> the child's type
     * @param name the attribute name (non-empty, no dots), unique among this module's children and tensors
     * @param child the child; attached to this module's manager if there is one
     * @return {@code child}
     * @throws IllegalArgumentException if the name is invalid or taken, or the child is null
     */
    protected <M extends Module> M register(String name, M child) {
        checkName(name);
        if (child == null) {
            throw new IllegalArgumentException("child '" + name + "' must not be null");
        }
        if (children.containsKey(name) || tensors.containsKey(name)) {
            throw new IllegalArgumentException("name '" + name + "' registered twice in " + getClass().getSimpleName());
        }
        children.put(name, child);
        if (manager != null) {
            child.attach(manager);
        }
        return child;
    }

    /**
     * Registers a trainable parameter (fp32) with the given default initialiser.
     *
     * @param name the attribute name (non-empty, no dots), unique in this module
     * @param shape the shape, fixed from now on
     * @param init the initialiser used by {@link #initialize}
     * @return the new, unallocated slot (requires grad)
     * @throws IllegalArgumentException if the name is invalid or taken
     */
    protected Parameter parameter(String name, Shape shape, Init init) {
        return addTensor(new Parameter(name, Parameter.Kind.PARAMETER, shape, DataType.FLOAT32, init, true));
    }

    /**
     * Registers a buffer ({@code register_buffer(name, tensor, persistent)}).
     *
     * @param name the attribute name (non-empty, no dots), unique in this module
     * @param shape the shape, fixed from now on
     * @param dataType the dtype
     * @param init the initialiser used by {@link #initialize}
     * @param persistent whether the buffer is part of the state dict
     * @return the new, unallocated slot
     * @throws IllegalArgumentException if the name is invalid or taken
     */
    protected Parameter buffer(String name, Shape shape, DataType dataType, Init init, boolean persistent) {
        return addTensor(new Parameter(name, Parameter.Kind.BUFFER, shape, dataType, init, persistent));
    }

    /**
     * Removes a registered tensor (used when a Python module re-registers a buffer).
     *
     * @param name the attribute name; nothing happens if it is not registered
     */
    protected void removeTensor(String name) {
        Parameter p = tensors.remove(name);
        if (p != null) {
            p.release();
        }
    }

    private Parameter addTensor(Parameter p) {
        checkName(p.getName());
        if (children.containsKey(p.getName()) || tensors.containsKey(p.getName())) {
            throw new IllegalArgumentException(
                    "name '" + p.getName() + "' registered twice in " + getClass().getSimpleName());
        }
        tensors.put(p.getName(), p);
        return p;
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("invalid module attribute name: '" + name + "'");
        }
    }

    /**
     * {@code zero_module(m)}: every parameter of {@code m} is initialised to zeros (the reference
     * zero-initialises output projections; loading a checkpoint overwrites them as usual).
     *
     * @param <M> the module type
     * @param m the module whose parameters (the whole subtree) get the zeros initialiser
     * @return {@code m}
     */
    public static <M extends Module> M zeroModule(M m) {
        for (Parameter p : m.namedParameters().values()) {
            p.setInit(Init.zeros());
        }
        return m;
    }

    /**
     * The direct children by attribute name, in registration order.
     *
     * @return an unmodifiable view
     */
    public Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /**
     * This module's own parameters and buffers by attribute name.
     *
     * @return an unmodifiable view, parameters and buffers in registration order
     */
    public Map<String, Parameter> ownTensors() {
        return Collections.unmodifiableMap(tensors);
    }

    /**
     * A child by name.
     *
     * @param name the attribute name
     * @return the child
     * @throws IllegalArgumentException if there is no such child
     */
    public Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalArgumentException("no child '" + name + "' in " + getClass().getSimpleName());
        }
        return m;
    }

    /**
     * Every tensor (parameters and buffers, persistent or not) by full dotted name, torch order.
     *
     * @return a new map; the slots are the live ones
     */
    public Map<String, Parameter> namedTensors() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, null, false);
        return out;
    }

    /**
     * Every parameter by full dotted name ({@code named_parameters()}), frozen ones included.
     *
     * @return a new map; the slots are the live ones
     */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, Parameter.Kind.PARAMETER, false);
        return out;
    }

    /**
     * Every buffer by full dotted name ({@code named_buffers()}).
     *
     * @return a new map; the slots are the live ones
     */
    public Map<String, Parameter> namedBuffers() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, Parameter.Kind.BUFFER, false);
        return out;
    }

    /**
     * The persistent tensors by state-dict key, without touching arrays.
     *
     * @return a new map; the slots are the live ones
     */
    public Map<String, Parameter> stateDictEntries() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, null, true);
        return out;
    }

    private void collect(String prefix, Map<String, Parameter> out, Parameter.Kind kind, boolean persistentOnly) {
        // torch order: own parameters, own buffers, then children
        for (Parameter.Kind k : Parameter.Kind.values()) {
            if (kind != null && k != kind) {
                continue;
            }
            for (Parameter p : tensors.values()) {
                if (p.getKind() == k && (!persistentOnly || p.isPersistent())) {
                    out.put(prefix + p.getName(), p);
                }
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", out, kind, persistentOnly);
        }
    }

    /**
     * The state-dict listing (key, shape, dtype) of this module, built from construction-time
     * shapes: no array is allocated.
     *
     * @return a new list, in state-dict order
     */
    public List<TensorSpec> stateDictSpec() {
        List<TensorSpec> out = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : stateDictEntries().entrySet()) {
            Parameter p = e.getValue();
            out.add(new TensorSpec(e.getKey(), p.getShape(), p.getDataType()));
        }
        return out;
    }

    /**
     * The persistent tensors by state-dict key ({@code state_dict()}); arrays are not copied.
     *
     * @return a new map of the live arrays (owned by this tree's manager: do not close them)
     * @throws IllegalStateException if a tensor is not allocated
     */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : stateDictEntries().entrySet()) {
            out.put(e.getKey(), e.getValue().getArray());
        }
        return out;
    }

    /**
     * Binds this tree to {@code manager} (no allocation); arrays created later live there.
     *
     * @param manager the manager that will own the tree's arrays
     */
    public void attach(NDManager manager) {
        this.manager = manager;
        for (Module c : children.values()) {
            c.attach(manager);
        }
    }

    /**
     * The manager the tree's arrays live in.
     *
     * @return the manager
     * @throws IllegalStateException if the tree is not attached
     */
    public NDManager getManager() {
        if (manager == null) {
            throw new IllegalStateException(
                    getClass().getSimpleName() + " is not attached to an NDManager: call initialize or attach first");
        }
        return manager;
    }

    /**
     * Whether {@link #attach} or {@link #initialize} was called.
     *
     * @return whether a manager is set
     */
    public boolean isAttached() {
        return manager != null;
    }

    /**
     * Attaches the tree to {@code manager} and allocates every tensor not yet allocated with its
     * default initialiser (PyTorch's {@code reset_parameters} rules), drawing from {@code noise}.
     *
     * @param manager the manager that will own the tree's arrays
     * @param noise the source of the random draws of the initialisers
     */
    public void initialize(NDManager manager, NoiseSource noise) {
        initialize(manager, noise, Set.of());
    }

    /**
     * Like {@link #initialize(NDManager, NoiseSource)}, but leaves the state-dict keys in {@code
     * loadedNext} unallocated: the caller loads them right after ({@link #loadStateDict} creates a
     * missing array), so a model about to receive a checkpoint never holds a random initialisation of
     * the same tensors at the same time (for SDXL, 14 GB that would only be overwritten). Keys left
     * out are not drawn from {@code noise}, so the other tensors' random values differ from a full
     * initialisation's; a module's {@link #loadPretrained} hook still runs (a nested {@code
     * ckpt_path} loads as usual). Until the caller has loaded them, reading those tensors throws
     * {@link IllegalStateException}.
     *
     * @param manager the manager that will own the tree's arrays
     * @param noise the source of the random draws of the initialisers
     * @param loadedNext state-dict keys ({@link #stateDictKeys()}) the caller loads next
     */
    public void initialize(NDManager manager, NoiseSource noise, Set<String> loadedNext) {
        attach(manager);
        for (Map.Entry<String, Parameter> e : namedTensors().entrySet()) {
            if (loadedNext.contains(e.getKey())) {
                continue;
            }
            // the initialisers' temporaries (a uniform draw before scaling, ...) are freed per tensor,
            // not kept in the model's manager until it closes
            try (NDScope ignored = new NDScope()) {
                e.getValue().allocate(manager, noise);
            }
        }
        loadPretrainedTree();
    }

    /** Runs {@link #loadPretrained} over the tree, children before their parent. */
    private void loadPretrainedTree() {
        for (Module c : children.values()) {
            c.loadPretrainedTree();
        }
        loadPretrained();
    }

    /**
     * Called by {@link #initialize} on every module of the tree once all tensors are allocated,
     * children before their parent: a module whose config names pretrained weights ({@code
     * ckpt_path}) loads them here. The order is the reference's, where a nested module loads its
     * checkpoint in its constructor, before its parent's {@code init_from_ckpt} can overwrite it.
     * The default does nothing.
     */
    protected void loadPretrained() {
    }

    /**
     * Loads tensors by state-dict key ({@code load_state_dict}). Values are copied into this tree's
     * manager and converted to each slot's dtype.
     *
     * @param stateDict tensors by key
     * @param strict when true, any missing, unexpected or shape-mismatched key throws before
     *     anything is loaded
     * @return the keys that were missing, unexpected or of the wrong shape
     * @throws StateDictException in strict mode when the keys do not match exactly
     */
    public LoadResult loadStateDict(Map<String, NDArray> stateDict, boolean strict) {
        NDManager m = getManager();
        Map<String, Parameter> entries = stateDictEntries();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : entries.entrySet()) {
            NDArray v = stateDict.get(e.getKey());
            if (v == null) {
                missing.add(e.getKey());
            } else if (!v.getShape().equals(e.getValue().getShape())) {
                mismatched.add(e.getKey() + ": expected " + e.getValue().getShape() + ", got " + v.getShape());
            }
        }
        for (String k : stateDict.keySet()) {
            if (!entries.containsKey(k)) {
                unexpected.add(k);
            }
        }
        LoadResult result = new LoadResult(missing, unexpected, mismatched);
        if (strict && !result.isClean()) {
            throw new StateDictException(getClass().getSimpleName(), result);
        }
        if (!mismatched.isEmpty()) {
            // torch raises for shape mismatches even with strict=False
            throw new StateDictException(getClass().getSimpleName(), result);
        }
        for (Map.Entry<String, Parameter> e : entries.entrySet()) {
            NDArray v = stateDict.get(e.getKey());
            if (v != null) {
                e.getValue().setArray(v, m);
            }
        }
        return result;
    }

    /** Releases every allocated array of the tree (shapes stay). */
    public void release() {
        for (Parameter p : namedTensors().values()) {
            p.release();
        }
    }

    /**
     * Converts every floating-point tensor to {@code dataType} (e.g. fp16 inference).
     *
     * @param dataType the target floating-point dtype; integer and boolean tensors are left unchanged
     */
    public void toDataType(DataType dataType) {
        for (Parameter p : namedTensors().values()) {
            p.convert(dataType, manager);
        }
    }

    /**
     * Sets the noise source the tree draws from in training mode (dropout); the Java counterpart
     * of torch's global generator for this model.
     *
     * @param noiseSource the source, or null to clear it (dropout then uses the current {@link
     *     io.github.sgm4j.noise.NoiseScope})
     */
    public void setNoiseSource(NoiseSource noiseSource) {
        this.noise = noiseSource;
        for (Module c : children.values()) {
            c.setNoiseSource(noiseSource);
        }
    }

    /**
     * The noise source set by {@link #setNoiseSource}, or null.
     *
     * @return the source, or null
     */
    public NoiseSource getNoiseSource() {
        return noise;
    }

    /**
     * Training mode ({@code train()}): dropout active.
     *
     * @return this module
     */
    public Module train() {
        return train(true);
    }

    /**
     * Sets training mode on the whole tree ({@code train(mode)}).
     *
     * @param mode true for training, false for inference
     * @return this module
     */
    public Module train(boolean mode) {
        training = mode;
        for (Module c : children.values()) {
            c.train(mode);
        }
        return this;
    }

    /**
     * Inference mode ({@code eval()}).
     *
     * @return this module
     */
    public Module eval() {
        return train(false);
    }

    /**
     * Whether this module is in training mode.
     *
     * @return the flag
     */
    public boolean isTraining() {
        return training;
    }

    /**
     * The training flag of every module of the tree (this one included), for {@link
     * #restoreTrainingModes}: a step that switches the tree to training mode puts the flags back
     * afterwards, also when it fails.
     *
     * @return a new identity map from module to its flag
     */
    public Map<Module, Boolean> trainingModes() {
        Map<Module, Boolean> out = new java.util.IdentityHashMap<>();
        collectModes(out);
        return out;
    }

    private void collectModes(Map<Module, Boolean> out) {
        out.put(this, training);
        for (Module c : children.values()) {
            c.collectModes(out);
        }
    }

    /**
     * Sets back the flags saved by {@link #trainingModes()} (exactly, without {@link #train(boolean)}
     * overrides).
     *
     * @param modes the map returned by {@link #trainingModes()}
     */
    public static void restoreTrainingModes(Map<Module, Boolean> modes) {
        modes.forEach((m, t) -> m.training = t);
    }

    /**
     * Sets {@code requires_grad} on every parameter of the tree ({@code requires_grad_}).
     *
     * @param requiresGrad the flag for every parameter
     * @return this module
     */
    public Module requiresGrad(boolean requiresGrad) {
        for (Parameter p : namedParameters().values()) {
            p.setRequiresGrad(requiresGrad);
        }
        return this;
    }

    /**
     * The number of elements over all parameters.
     *
     * @return the total element count, frozen parameters included
     */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.getShape().size();
        }
        return n;
    }

    /**
     * Key set of the state dict, in torch order.
     *
     * @return a new ordered set
     */
    public Set<String> stateDictKeys() {
        return new LinkedHashSet<>(stateDictEntries().keySet());
    }

    /**
     * The parameter or buffer at a dotted path, e.g. {@code conv_in.weight}.
     *
     * @param dottedPath the full dotted name, relative to this module
     * @return the slot
     * @throws IllegalArgumentException if there is no such tensor
     */
    public Parameter tensor(String dottedPath) {
        Parameter p = namedTensors().get(dottedPath);
        if (p == null) {
            throw new IllegalArgumentException("no tensor '" + dottedPath + "' in " + getClass().getSimpleName());
        }
        return p;
    }
}
