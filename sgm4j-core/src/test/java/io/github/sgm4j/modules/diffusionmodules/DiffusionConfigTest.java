package io.github.sgm4j.modules.diffusionmodules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DenoiseFunction;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DiscreteDenoiser;
import io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider;
import io.github.sgm4j.modules.diffusionmodules.guiders.VanillaCFG;
import io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss;
import io.github.sgm4j.modules.diffusionmodules.sampling.AncestralSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.DPMPP2MSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.DPMPP2SAncestralSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EDMSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EulerAncestralSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EulerEDMSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.HeunEDMSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.LinearMultistepSampler;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.ClassEmbedder;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.NoiseSource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The diffusion-math classes built from sgm YAML through the {@link Instantiator}: sgm's defaults,
 * the accepted no-effect keys, and config-level bad input (each a {@link ConfigException} naming
 * the key path and the value, with a did-you-mean for misspelled keys).
 */
class DiffusionConfigTest {

    static final String EDM_DISC = "      discretization_config:\n"
            + "        target: sgm.modules.diffusionmodules.discretizer.EDMDiscretization\n";

    static <T> T build(String yaml, Class<T> type) {
        return new Instantiator().instantiate(ConfigNode.parse(yaml, "test.yaml").getNode("node"), type);
    }

    static ConfigException fails(String yaml, Class<?> type) {
        return assertThrows(ConfigException.class, () -> build(yaml, type));
    }

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }

    static String sampler(String cls, String extra) {
        return "node:\n  target: sgm.modules.diffusionmodules.sampling." + cls + "\n  params:\n" + EDM_DISC + extra;
    }

    // ------------------------------------------------------------------ defaults

    @Test
    void samplersTakeSgmDefaults() {
        EulerEDMSampler euler = build(sampler("EulerEDMSampler", ""), EulerEDMSampler.class);
        assertEquals(EDMSampler.Params.defaults(null), euler.params());
        assertEquals(Double.POSITIVE_INFINITY, euler.params().sTmax());
        assertEquals("cuda", euler.params().device());
        assertNull(euler.getNumSteps());
        assertInstanceOf(IdentityGuider.class, euler.getGuider());
        assertEquals(AncestralSampler.Params.defaults(null),
                build(sampler("EulerAncestralSampler", ""), EulerAncestralSampler.class).params());
        assertEquals(AncestralSampler.Params.defaults(null),
                build(sampler("DPMPP2SAncestralSampler", ""), DPMPP2SAncestralSampler.class).params());
        assertEquals(4, build(sampler("LinearMultistepSampler", ""), LinearMultistepSampler.class).params().order());
        HeunEDMSampler heun = build(sampler("HeunEDMSampler", "      num_steps: 7\n      s_churn: 0.3\n"
                + "      guider_config:\n        target: sgm.modules.diffusionmodules.guiders.VanillaCFG\n"
                + "        params: {scale: 5.0}\n"), HeunEDMSampler.class);
        assertEquals(7, heun.getNumSteps());
        assertEquals(0.3, heun.params().sChurn());
        assertInstanceOf(VanillaCFG.class, heun.getGuider());
        assertInstanceOf(DPMPP2MSampler.class, build(sampler("DPMPP2MSampler", "      verbose: true\n"), Object.class));
    }

    @Test
    void denoiserAndLossTakeSgmDefaults() {
        DiscreteDenoiser d = build("""
                node:
                  target: sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser
                  params:
                    num_idx: 1000
                    scaling_config: {target: sgm.modules.diffusionmodules.denoiser_scaling.EpsScaling}
                    discretization_config: {target: sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization}
                """, DiscreteDenoiser.class);
        assertEquals(new DiscreteDenoiser.Params(1000, false, true, true), d.params());
        StandardDiffusionLoss loss = build("""
                node:
                  target: sgm.modules.diffusionmodules.loss.StandardDiffusionLoss
                  params:
                    sigma_sampler_config: {target: sgm.modules.diffusionmodules.sigma_sampling.EDMSampling}
                    loss_weighting_config: {target: sgm.modules.diffusionmodules.loss_weighting.EDMWeighting}
                    batch2model_keys: image_only_indicator
                """, StandardDiffusionLoss.class);
        assertEquals("l2", loss.params().lossType());
        assertEquals(0.0, loss.params().offsetNoiseLevel());
        assertEquals(List.of("image_only_indicator"), loss.params().batch2modelKeys()); // a single string, as in sgm
    }

    /** sgm's sampler default device is "cuda"; sgm4j accepts any device string and follows x. */
    @Test
    void samplerDeviceIsAcceptedAndTheTensorsDeviceIsFollowed() {
        EulerEDMSampler s = build(sampler("EulerEDMSampler", "      num_steps: 3\n      device: cuda\n"),
                EulerEDMSampler.class);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(2, 1, 2, 2));
            DenoiseFunction zero = (xi, sigma, c) -> xi.zerosLike();
            NDArray out = s.sample(zero, x, Map.of(), null, null);
            assertEquals(x.getDevice(), out.getDevice());
            assertEquals(x.getShape(), out.getShape());
        }
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void misspelledSamplerParamIsRejectedWithDidYouMean() {
        ConfigException e = fails(sampler("EulerEDMSampler", "      num_steps: 10\n      s_chrun: 0.5\n"), Object.class);
        assertMessage(e, "node.params.s_chrun", "did you mean s_churn");
        ConfigException e2 = fails(sampler("LinearMultistepSampler", "      ordr: 3\n"), Object.class);
        assertMessage(e2, "node.params.ordr", "did you mean order");
        ConfigException e3 = fails(sampler("EulerAncestralSampler", "      guider_config:\n"
                + "        target: sgm.modules.diffusionmodules.guiders.VanillaCFG\n        params: {scael: 5}\n"),
                Object.class);
        assertMessage(e3, "guider_config.params.scale", "required key is missing", "did you mean scael");
    }

    @Test
    void numStepsBelowOneInConfigIsRejected() {
        ConfigException e = fails(sampler("DPMPP2MSampler", "      num_steps: 0\n"), Object.class);
        assertMessage(e, "node.params.num_steps", "must be >= 1, got 0");
    }

    @Test
    void unknownLossTypeInConfigIsRejected() {
        for (String type : List.of("l3", "lpips")) {
            ConfigException e = fails("""
                    node:
                      target: sgm.modules.diffusionmodules.loss.StandardDiffusionLoss
                      params:
                        sigma_sampler_config: {target: sgm.modules.diffusionmodules.sigma_sampling.EDMSampling}
                        loss_weighting_config: {target: sgm.modules.diffusionmodules.loss_weighting.EDMWeighting}
                        loss_type: %s
                    """.formatted(type), Object.class);
            assertMessage(e, "node.params.loss_type", "unknown loss type \"" + type + "\"", "[l2, l1]");
        }
    }

    @Test
    void configBuiltGuiderWithoutUnconditionalConditioningIsRejected() {
        VanillaCFG cfg = build("node:\n  target: sgm.modules.diffusionmodules.guiders.VanillaCFG\n"
                + "  params: {scale: 7.5}\n", VanillaCFG.class);
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cfg.prepareInputs(
                    m.zeros(new Shape(2, 1, 2, 2)), m.ones(new Shape(2)), Map.of("crossattn", m.ones(new Shape(2, 1, 3))), null));
            assertMessage(e, "unconditional");
        }
    }

    static String conditioner(String entry) {
        return "node:\n  target: sgm.modules.GeneralConditioner\n  params:\n    emb_models:\n" + entry;
    }

    static final String CLASS_ENTRY_HEAD = "      - target: sgm.modules.encoders.modules.ClassEmbedder\n"
            + "        params: {embed_dim: 4, n_classes: 10}\n";

    @Test
    void conditionerEntryKeysAreReadAndChecked() {
        GeneralConditioner g = build(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        ucg_rate: 0.1\n"
                + "        is_trainable: true\n"
                + "      - target: sgm.modules.encoders.modules.ConcatTimestepEmbedderND\n"
                + "        params: {outdim: 4}\n        input_keys: [original_size_as_tuple]\n"
                + "        legacy_ucg_value: null\n"), GeneralConditioner.class);
        AbstractEmbModel cls = g.getEmbedders().get(0);
        assertEquals("cls", cls.getInputKey());
        assertEquals(0.1, cls.getUcgRate());
        assertTrue(cls.isTrainable());
        AbstractEmbModel size = g.getEmbedders().get(1);
        assertEquals(List.of("original_size_as_tuple"), size.getInputKeys());
        assertFalse(size.isTrainable()); // sgm's default
        assertEquals(0.0, size.getUcgRate());

        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        inptu_key: cls\n"), Object.class),
                "emb_models.0.inptu_key", "did you mean input_key");
        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        ucg_rte: 0.1\n"), Object.class),
                "emb_models.0.ucg_rte", "did you mean ucg_rate");
        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        ucg_rate: 0.1\n"), Object.class),
                "node.params.emb_models.0", "need either 'input_key' or 'input_keys'", "ClassEmbedder");
        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        input_keys: [a, b]\n"),
                Object.class), "emb_models.0", "not both");
        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        ucg_rate: 1.5\n"), Object.class),
                "emb_models.0.ucg_rate", "1.5");
        assertMessage(fails(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        ucg_rate: 0.1\n"
                + "        legacy_ucg_value: 9\n"), Object.class), "emb_models.0.legacy_ucg_value", "numpy");
        assertMessage(fails(conditioner("      - target: sgm.modules.encoders.modules.ClassEmbedder\n"
                + "        params: {embed_dimm: 4}\n        input_key: cls\n"), Object.class),
                "emb_models.0.params.embed_dim", "did you mean embed_dimm");
        assertMessage(fails("node:\n  target: sgm.modules.GeneralConditioner\n  params: {}\n", Object.class),
                "node.params.emb_models", "required key is missing");
        // legacy_ucg_value has no effect in sgm when ucg_rate is 0: accepted
        build(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n        legacy_ucg_value: 9\n"), GeneralConditioner.class);
    }

    @Test
    void configBuiltConditionerNamesMissingKeyAndBadClass() {
        GeneralConditioner g = build(conditioner(CLASS_ENTRY_HEAD + "        input_key: cls\n"), GeneralConditioner.class);
        try (NDManager m = NDManager.newBaseManager()) {
            g.initialize(m, NoiseSource.seeded(0));
            assertInstanceOf(ClassEmbedder.class, g.getEmbedders().get(0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.forward(Map.of("label", m.create(new long[] {1})), null));
            assertMessage(e, "'cls'", "label");
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> g.forward(Map.of("cls", m.create(new long[] {-1, 2})), null));
            assertMessage(e2, "class index -1", "'cls'");
        }
    }
}
