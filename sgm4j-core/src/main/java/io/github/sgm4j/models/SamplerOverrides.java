package io.github.sgm4j.models;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Overrides of a config's {@code model.params.sampler_config} (sampler target, steps, guider). */
final class SamplerOverrides {

    /** sgm's classifier-free guider. */
    static final String VANILLA_CFG = "sgm.modules.diffusionmodules.guiders.VanillaCFG";

    /** sgm's pass-through guider. */
    static final String IDENTITY_GUIDER = "sgm.modules.diffusionmodules.guiders.IdentityGuider";

    private SamplerOverrides() {}

    /**
     * A copy of {@code root} with the sampler overridden.
     *
     * @param root the config's root (with {@code model.params.sampler_config})
     * @param target the sampler target, or null to keep it
     * @param steps {@code num_steps}, or null to keep it
     * @param guidanceScale a {@code VanillaCFG} scale, or null to keep the guider
     * @param noGuidance use {@code IdentityGuider} (wins over {@code guidanceScale})
     * @return the new root
     * @throws ConfigException when the config has no sampler section to override
     */
    @SuppressWarnings("unchecked")
    static ConfigNode apply(ConfigNode root, String target, Integer steps, Double guidanceScale, boolean noGuidance) {
        Map<String, Object> copy = (Map<String, Object>) deepCopy(root.asMap());
        Map<String, Object> params = child(child(copy, "model", "model"), "params", "model.params");
        Map<String, Object> sampler = child(params, "sampler_config", "model.params.sampler_config");
        Map<String, Object> sp = (Map<String, Object>) sampler.computeIfAbsent("params", k -> new LinkedHashMap<>());
        if (target != null) {
            sampler.put("target", target);
        }
        if (steps != null) {
            if (steps < 1) {
                throw new IllegalArgumentException("num_steps must be >= 1, got " + steps);
            }
            sp.put("num_steps", steps);
        }
        if (noGuidance) {
            Map<String, Object> guider = new LinkedHashMap<>();
            guider.put("target", IDENTITY_GUIDER);
            sp.put("guider_config", guider);
        } else if (guidanceScale != null) {
            Map<String, Object> guider = new LinkedHashMap<>();
            guider.put("target", VANILLA_CFG);
            guider.put("params", new LinkedHashMap<>(Map.of("scale", guidanceScale)));
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
