package io.github.sgm4j.cli;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Command-line overrides of the sampler section of a config ({@code --steps}, {@code --cfg}). */
final class SamplerOverrides {

    private SamplerOverrides() {}

    @SuppressWarnings("unchecked")
    static ConfigNode apply(ConfigNode root, Integer steps, Double cfg) {
        Map<String, Object> copy = (Map<String, Object>) deepCopy(root.asMap());
        Map<String, Object> params = child(child(copy, "model", "model"), "params", "model.params");
        Map<String, Object> sampler = child(params, "sampler_config", "model.params.sampler_config");
        Map<String, Object> sp = (Map<String, Object>) sampler.computeIfAbsent("params", k -> new LinkedHashMap<>());
        if (steps != null) {
            if (steps < 1) {
                throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
            }
            sp.put("num_steps", steps);
        }
        if (cfg != null) {
            Map<String, Object> guider = new LinkedHashMap<>();
            guider.put("target", "sgm.modules.diffusionmodules.guiders.VanillaCFG");
            guider.put("params", new LinkedHashMap<>(Map.of("scale", cfg)));
            sp.put("guider_config", guider);
        }
        return ConfigNode.of(copy);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> child(Map<String, Object> m, String key, String path) {
        Object v = m.get(key);
        if (!(v instanceof Map)) {
            throw new ConfigException(path, "expected a mapping to override sampler settings");
        }
        return (Map<String, Object>) v;
    }

    private static Object deepCopy(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put((String) k, deepCopy(v)));
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(v -> out.add(deepCopy(v)));
            return out;
        }
        return o;
    }
}
