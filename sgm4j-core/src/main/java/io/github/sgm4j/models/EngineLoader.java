package io.github.sgm4j.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;

/**
 * Builds a ready-to-use {@link DiffusionEngine} from an sgm-format config: the {@code model}
 * section is instantiated, {@code model.base_learning_rate} applied, every tensor allocated in the
 * caller's manager (seeded default init) and, when given, a checkpoint loaded strictly by key
 * ({@link EngineCheckpoint#loadWeights}). The engine remembers its config ({@link
 * DiffusionEngine#setConfig}) so that {@link DiffusionEngine#sample(java.util.Map, int,
 * SampleOptions)} can derive the image size and rebuild the sampler for overrides. {@link
 * DiffusionEngine#load(ConfigNode, Path, NDManager)} is the shorthand with seed 0.
 *
 * <p>Thread-safety: stateless and safe to call from several threads at once; each call builds an
 * independent engine.
 */
public final class EngineLoader {

    private EngineLoader() {}

    /**
     * The DJL device of a device name.
     *
     * @param name {@code cpu} (or null), {@code cuda} / {@code gpu}, or {@code cuda:N}
     * @return the device
     * @throws IllegalArgumentException for any other name
     */
    public static Device device(String name) {
        if (name == null || name.equals("cpu")) {
            return Device.cpu();
        }
        if (name.equals("cuda") || name.equals("gpu")) {
            return Device.gpu();
        }
        if (name.startsWith("cuda:")) {
            try {
                return Device.gpu(Integer.parseInt(name.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("unknown device '" + name + "' (use cpu, cuda or cuda:N)", e);
            }
        }
        throw new IllegalArgumentException("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
    }

    /**
     * Reads a config file ({@link ConfigNode#load}).
     *
     * @param file the YAML file
     * @return its root node
     * @throws ConfigException naming the file when it cannot be read or parsed
     */
    public static ConfigNode config(Path file) {
        return ConfigNode.load(file);
    }

    /**
     * The {@code model} node of a config.
     *
     * @param root the config's root
     * @return its {@code model} section
     * @throws ConfigException when there is none
     */
    public static ConfigNode modelNode(ConfigNode root) {
        if (!root.has("model")) {
            throw new ConfigException("model", "the config " + root.source() + " has no 'model' section");
        }
        return root.getNode("model");
    }

    /**
     * Builds the engine of {@code root}'s {@code model} section with its base learning rate ({@code
     * model.base_learning_rate}, default 1e-4) and config, without allocating a tensor: its key and
     * shape listing exists, its arrays do not until {@link DiffusionEngine#initialize} or a loader
     * such as {@code SingleFileCheckpoint.initializeAndLoad} creates them.
     *
     * @param root the config's root (with a {@code model} section)
     * @return the engine, unallocated
     * @throws ConfigException naming the YAML path of the first config error
     */
    public static DiffusionEngine build(ConfigNode root) {
        ConfigNode model = modelNode(root);
        DiffusionEngine engine = new Instantiator().instantiate(model, DiffusionEngine.class);
        engine.setLearningRate(model.getDouble("base_learning_rate", 1e-4));
        engine.setConfig(root);
        return engine;
    }

    /**
     * Builds and allocates the engine of {@code root} without loading a checkpoint; see {@link
     * #load(ConfigNode, Path, NDManager, long)}.
     *
     * @param root the config's root (with a {@code model} section)
     * @param manager owns every tensor of the engine
     * @param seed seed of the default initialisation
     * @return the engine, in eval mode
     * @throws ConfigException naming the YAML path of the first config error
     */
    public static DiffusionEngine load(ConfigNode root, NDManager manager, long seed) {
        return load(root, null, manager, seed);
    }

    /**
     * Builds the engine of {@code root}'s {@code model} section, sets its base learning rate ({@code
     * model.base_learning_rate}, default 1e-4), allocates it in {@code manager} with the default
     * initialisation seeded by {@code seed}, and loads {@code checkpoint} when it is not null:
     * strictly by key, the EMA shadows ({@code model_ema.*}) may be absent when the checkpoint has
     * none of them (the EMA then starts from the loaded weights); the recorded global step is
     * restored. The engine's arrays belong to {@code manager}: closing it frees the engine.
     *
     * @param root the config's root (with a {@code model} section)
     * @param checkpoint a {@code .safetensors} checkpoint, or null for the initial weights
     * @param manager owns every tensor of the engine
     * @param seed seed of the default initialisation
     * @return the engine, in eval mode
     * @throws ConfigException naming the YAML path of the first config error
     * @throws CheckpointException naming the file and the keys when the checkpoint is missing or does
     *     not match the model
     * @throws EngineCheckpoint.NonFiniteTensorException naming the file and the tensor when a loaded
     *     weight is NaN or infinite
     */
    public static DiffusionEngine load(ConfigNode root, Path checkpoint, NDManager manager, long seed) {
        DiffusionEngine engine = build(root);
        engine.initialize(manager, NoiseSource.seeded(seed));
        if (checkpoint != null) {
            EngineCheckpoint.loadWeights(checkpoint, engine, false);
        }
        engine.eval();
        return engine;
    }
}
