package io.github.sgm4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.nn.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * sgm4j's own configs in {@code configs/}: each builds a DiffusionEngine with every part the CLI
 * needs (loss, sampler, data and lightning sections), and the EMA keys follow {@code use_ema}.
 */
class OwnConfigsTest {

    @Test
    void everyConfigBuilds() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(Path.of("configs"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 3, "configs/: " + files);
        for (Path f : files) {
            ConfigNode root = ConfigNode.load(f);
            ConfigNode model = root.getNode("model");
            if (io.github.sgm4j.models.AutoencoderTrainers.isAutoencoder(model)) {
                // first-stage configs: built (with their loss) and trained by AutoencoderTrainingTest / CliTest
                assertTrue(model.getDouble("base_learning_rate") > 0, f + ": base_learning_rate");
                assertTrue(root.getNode("data").getNode("params").getInt("batch_size") > 0, f + ": data.params.batch_size");
                assertTrue(new Instantiator().instantiate(model) instanceof io.github.sgm4j.models.AutoencoderKL, f.toString());
                continue;
            }
            DiffusionEngine e = new Instantiator().instantiate(model, DiffusionEngine.class);
            assertTrue(model.getDouble("base_learning_rate") > 0, f + ": base_learning_rate");
            assertTrue(e.getLossFn() != null && e.getSampler() != null, f + ": loss and sampler");
            assertTrue(root.getNode("data").getNode("params").getInt("batch_size") > 0, f + ": data.params.batch_size");
            List<String> keys = e.stateDictSpec().stream().map(TensorSpec::key).toList();
            long network = keys.stream().filter(k -> k.startsWith("model.diffusion_model.")).count();
            long ema = keys.stream().filter(k -> k.startsWith("model_ema.") && !k.equals("model_ema.decay")
                    && !k.equals("model_ema.num_updates")).count();
            assertTrue(network > 0, f + ": no network keys");
            if (e.getParams().useEma()) {
                assertEquals(network, ema, f + ": one EMA shadow per network parameter");
            } else {
                assertFalse(keys.stream().anyMatch(k -> k.startsWith("model_ema.")), f + ": EMA keys without use_ema");
            }
        }
    }

    @Test
    void everyShippedConfigIsAClasspathResourceEqualToTheFile() throws IOException {
        List<String> files;
        try (Stream<Path> s = Files.list(Path.of("configs"))) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList();
        }
        assertEquals(files, ConfigNode.shippedConfigs(), "configs/index.txt lists every shipped config");
        for (String name : files) {
            ConfigNode fromJar = ConfigNode.loadResource(name);
            ConfigNode fromFile = ConfigNode.load(Path.of("configs", name));
            assertEquals(fromFile.asMap(), fromJar.asMap(), name);
        }
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ConfigNode.loadResource("mnist_tinyy.yaml"));
        assertTrue(e.getMessage().contains("mnist_tinyy.yaml") && e.getMessage().contains("mnist_tiny.yaml"), e.getMessage());
    }
}
