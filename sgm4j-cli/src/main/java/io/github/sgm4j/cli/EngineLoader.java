package io.github.sgm4j.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.nio.file.Path;

/** Builds a {@link DiffusionEngine} from an sgm-format YAML for the commands. */
final class EngineLoader {

    private EngineLoader() {}

    static Device device(String name) {
        if (name == null || name.equals("cpu")) {
            return Device.cpu();
        }
        if (name.equals("cuda") || name.equals("gpu")) {
            return Device.gpu();
        }
        if (name.startsWith("cuda:")) {
            return Device.gpu(Integer.parseInt(name.substring(5)));
        }
        throw new IllegalArgumentException("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
    }

    /** The {@code model} node of a config file. */
    static ConfigNode modelNode(ConfigNode root) {
        if (!root.has("model")) {
            throw new ConfigException("model", "the config has no 'model' section");
        }
        return root.getNode("model");
    }

    /** Builds, allocates (seeded init) and returns the engine of {@code config}; base_learning_rate applied. */
    static DiffusionEngine load(ConfigNode root, NDManager manager, long seed) {
        ConfigNode model = modelNode(root);
        DiffusionEngine engine = new Instantiator().instantiate(model, DiffusionEngine.class);
        engine.setLearningRate(model.getDouble("base_learning_rate", 1e-4));
        engine.initialize(manager, new TorchNoiseSource(seed));
        return engine;
    }

    static ConfigNode config(Path file) {
        return ConfigNode.load(file);
    }
}
