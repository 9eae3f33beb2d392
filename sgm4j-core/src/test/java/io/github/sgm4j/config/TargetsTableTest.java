package io.github.sgm4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The two tables of {@link Targets}: every implemented entry names a class of this build with a
 * public static {@code fromConfig(ConfigNode, Instantiator)}; every unsupported entry is refused
 * with "known but not available in this build" naming the YAML path of its {@code target}.
 */
class TargetsTableTest {

    /**
     * Implemented entries their callers construct directly (no {@code fromConfig}): they must exist
     * and have a public constructor.
     */
    private static final Map<String, String> BUILT_BY_CALLER = Map.of(
            "sgm.modules.diffusionmodules.wrappers.OpenAIWrapper",
            "network_wrapper: DiffusionEngine passes the network to its one-argument constructor",
            "sgm.modules.distributions.distributions.DiagonalGaussianDistribution",
            "built from the posterior moments by the regularizer, never from a config node");

    @Test
    void everyImplementedTargetHasItsClassAndFactory() {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, String> e : Targets.TABLE.entrySet()) {
            try {
                Class<?> c = Class.forName(e.getValue(), false, Targets.class.getClassLoader());
                if (BUILT_BY_CALLER.containsKey(e.getKey())) {
                    if (c.getConstructors().length == 0) {
                        bad.add(e.getKey() + " -> " + e.getValue() + ": no public constructor");
                    }
                    continue;
                }
                Method m = c.getMethod("fromConfig", ConfigNode.class, Instantiator.class);
                if (!Modifier.isStatic(m.getModifiers())) {
                    bad.add(e.getKey() + " -> " + e.getValue() + ": fromConfig is not static");
                }
            } catch (ClassNotFoundException ex) {
                bad.add(e.getKey() + " -> " + e.getValue() + ": no such class (move it to Targets.UNSUPPORTED)");
            } catch (NoSuchMethodException ex) {
                bad.add(e.getKey() + " -> " + e.getValue() + ": no public fromConfig(ConfigNode, Instantiator)");
            }
            assertEquals(e.getValue(), Targets.className(e.getKey(), "model.target"));
            assertTrue(Targets.isKnown(e.getKey()), e.getKey());
        }
        assertTrue(bad.isEmpty(), "broken Targets.TABLE entries:\n" + String.join("\n", bad));
    }

    @Test
    void unsupportedTargetsAreKnownButNotAvailableNamingThePath() {
        assertFalse(Targets.UNSUPPORTED.isEmpty());
        for (String target : Targets.UNSUPPORTED.keySet()) {
            assertFalse(Targets.TABLE.containsKey(target), target + " is in both tables");
            assertTrue(Targets.isKnown(target), target);
            assertFalse(Targets.isAvailable(target), target);
            ConfigNode n = ConfigNode.parse("model:\n  params:\n    cond_stage_config:\n      target: " + target + "\n",
                    "t.yaml");
            ConfigNode node = n.getNode("model").getNode("params").getNode("cond_stage_config");
            ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(node));
            String msg = e.getMessage();
            assertTrue(msg.contains("model.params.cond_stage_config.target"), msg);
            assertTrue(msg.contains("target " + target + " is known but not available in this build"), msg);
        }
    }

    @Test
    void unknownTargetStaysUnknown() {
        assertFalse(Targets.isKnown("sgm.modules.encoders.modules.NoSuchEmbedder"));
        ConfigException e = assertThrows(ConfigException.class,
                () -> Targets.className("sgm.modules.encoders.modules.NoSuchEmbedder", "x.target"));
        assertTrue(e.getMessage().startsWith("x.target: unknown target"), e.getMessage());
        if (e.getMessage().contains("known but not available")) {
            fail(e.getMessage());
        }
    }
}
