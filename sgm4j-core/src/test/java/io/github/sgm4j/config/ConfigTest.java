package io.github.sgm4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.github.sgm4j.config.testtargets.Dummy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ConfigNode getters, interpolation, the Instantiator and its errors. */
class ConfigTest {

    static final String DUMMY = "io.github.sgm4j.config.testtargets.Dummy";

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }

    @Test
    void typedGettersAndYamlQuirks() {
        ConfigNode n = ConfigNode.parse("""
                model:
                  base_learning_rate: 1e-4
                  params:
                    a: 3
                    b: 2.5
                    c: true
                    d: [1, 2, 4]
                    e: .inf
                    f: "inf"
                    g: hello
                """, "t.yaml");
        ConfigNode p = n.getNode("model").getNode("params");
        assertEquals(1e-4, n.getNode("model").getDouble("base_learning_rate"));
        assertEquals(3, p.getInt("a"));
        assertEquals(3.0, p.getDouble("a"));
        assertEquals(2.5, p.getDouble("b"));
        assertTrue(p.getBoolean("c"));
        assertEquals(List.of(1, 2, 4), p.getIntList("d"));
        assertEquals(Double.POSITIVE_INFINITY, p.getDouble("e"));
        assertEquals(Double.POSITIVE_INFINITY, p.getDouble("f"));
        assertEquals("hello", p.getString("g"));
        assertEquals(7, p.getInt("missing", 7));
        assertEquals(List.of(2), p.getIntOrIntList("a", null).stream().map(x -> x - 1).toList());
        assertEquals("model.params", p.path());
    }

    @Test
    void wronglyTypedParamNamesPathAndValue() {
        ConfigNode n = ConfigNode.parse("model:\n  params:\n    channel_mult: \"1,2\"\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class,
                () -> n.getNode("model").getNode("params").getIntList("channel_mult"));
        assertEquals("model.params.channel_mult: expected a list of integers, got \"1,2\"", e.getMessage());
    }

    @Test
    void missingRequiredParam() {
        ConfigNode n = ConfigNode.parse("params:\n  channels: 3\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> n.getNode("params").getInt("channel"));
        assertMessage(e, "params.channel", "required key is missing", "did you mean channels");
    }

    @Test
    void yamlThatIsNotAMapping() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigNode.parse("- a\n- b\n", "list.yaml"));
        assertMessage(e, "list.yaml", "top level must be a mapping");
        assertThrows(ConfigException.class, () -> ConfigNode.parse("a: [1, 2\n", "broken.yaml"));
    }

    @Test
    void interpolation() {
        ConfigNode n = ConfigNode.parse("""
                shared: {dim: 64, name: unet}
                model:
                  ctx: ${shared.dim}
                  label: ${shared.name}-v${shared.dim}
                  sibling: ${.ctx}
                """, "t.yaml");
        ConfigNode m = n.getNode("model");
        assertEquals(64, m.getInt("ctx"));
        assertEquals("unet-v64", m.getString("label"));
        assertEquals(64, m.getInt("sibling"));
        ConfigException missing = assertThrows(ConfigException.class,
                () -> ConfigNode.parse("a: ${b.c}\nb: {}\n", "t.yaml"));
        assertMessage(missing, "a:", "b.c");
        ConfigException cycle = assertThrows(ConfigException.class,
                () -> ConfigNode.parse("a: ${b}\nb: ${a}\n", "t.yaml"));
        assertMessage(cycle, "cycle");
    }

    @Test
    void instantiateByJavaClassNameWithNestedTarget() {
        ConfigNode n = ConfigNode.parse("target: " + DUMMY + "\nparams:\n  channel_mult: [1, 2]\n  monitor: val/loss\n"
                + "  child_config:\n    target: " + DUMMY + "\n    params: {scale: 0.5}\n", "t.yaml");
        Dummy d = new Instantiator().instantiate(n, Dummy.class);
        assertEquals(List.of(1, 2), d.channelMult);
        assertEquals(0.5, ((Dummy) d.child).scale);
        assertNull(((Dummy) d.child).child);
    }

    @Test
    void misspelledParamIsRejectedWithSuggestion() {
        ConfigNode n = ConfigNode.parse("target: " + DUMMY + "\nparams:\n  chanel_mult: [1, 2]\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(n));
        assertMessage(e, "params.chanel_mult", "did you mean channel_mult");
    }

    @Test
    void unknownTargetNamesClosestKnownNames() {
        ConfigNode n = ConfigNode.parse("model:\n  target: sgm.modules.diffusionmodules.denoiser.Denoizer\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(n.getNode("model")));
        assertMessage(e, "model.target", "unknown target 'sgm.modules.diffusionmodules.denoiser.Denoizer'",
                "sgm.modules.diffusionmodules.denoiser.Denoiser");
    }

    @Test
    void knownButUnavailableTargetIsPrecise() {
        ConfigNode n = ConfigNode.parse("target: sgm.modules.encoders.modules.FrozenT5Embedder\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(n));
        assertMessage(e, "target", "FrozenT5Embedder", "not available in this build");
    }

    @Test
    void wrongExpectedType() {
        ConfigNode n = ConfigNode.parse("target: " + DUMMY + "\n", "t.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> new Instantiator().instantiate(n, String.class));
        assertMessage(e, "expected a java.lang.String");
    }

    @Test
    void sentinels() {
        ConfigNode n = ConfigNode.parse("cond_stage_config: __is_unconditional__\nfirst: __is_first_stage__\nx: 1\n", "t");
        assertEquals(Targets.Sentinel.UNCONDITIONAL, Instantiator.sentinel(n, "cond_stage_config"));
        assertEquals(Targets.Sentinel.FIRST_STAGE, Instantiator.sentinel(n, "first"));
        assertNull(Instantiator.sentinel(n, "x"));
    }

    @Test
    void jsonConfigsReadInfStrings() {
        ConfigNode n = ConfigNode.fromJson(JsonParser.parseString("{\"target\": \"x\", \"params\": {\"s_tmax\": \"inf\", \"n\": 3}}"),
                "case.json");
        assertEquals(Double.POSITIVE_INFINITY, n.getNode("params").getDouble("s_tmax"));
        assertInstanceOf(Integer.class, n.getNode("params").raw("n"));
    }
}
