package io.github.sgm4j.ldm;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.ldm.DDPM.Params;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.optim.LrScheduler;
import java.util.List;

/**
 * The config parsing of ldm's {@code DDPM} (and the DDPM part of {@code LatentDiffusion}): the
 * {@link DDPM.Params} keys with ldm's defaults, the {@code unet_config} wrapper and {@code
 * scheduler_config}.
 */
final class DdpmConfig {

    private DdpmConfig() {}

    /**
     * Reads the DDPM keys.
     *
     * @param p the {@code params} node
     * @param conditioningKeyOverride overrides {@code conditioning_key} when non-null
     * @return the parameters
     * @throws ConfigException when a value is invalid or unsupported
     */
    static Params readParams(ConfigNode p, String conditioningKeyOverride) {
        Params d = Params.defaults();
        p.ignore("monitor", "use_positional_encodings_unused");
        if (p.getBoolean("use_positional_encodings", false)) {
            throw new ConfigException(p.pathOf("use_positional_encodings"), "positional encodings are not supported");
        }
        List<Double> givenBetas = p.isNull("given_betas") ? null : p.getDoubleList("given_betas");
        String schedule = p.getString("beta_schedule", d.betaSchedule());
        if (givenBetas == null && !List.of("linear", "cosine", "sqrt_linear", "sqrt").contains(schedule)) {
            throw new ConfigException(p.pathOf("beta_schedule"),
                    "schedule '" + schedule + "' unknown (linear, cosine, sqrt_linear, sqrt)");
        }
        String condKey = conditioningKeyOverride != null ? conditioningKeyOverride
                : (p.isNull("conditioning_key") ? null : p.getString("conditioning_key"));
        try {
            return new Params(
                    p.getInt("timesteps", d.timesteps()),
                    schedule,
                    p.getString("loss_type", d.lossType()),
                    p.getBoolean("use_ema", d.useEma()),
                    p.getString("first_stage_key", d.firstStageKey()),
                    p.getInt("image_size", d.imageSize()),
                    p.getInt("channels", d.channels()),
                    p.getInt("log_every_t", d.logEveryT()),
                    p.getBoolean("clip_denoised", d.clipDenoised()),
                    p.getDouble("linear_start", d.linearStart()),
                    p.getDouble("linear_end", d.linearEnd()),
                    p.getDouble("cosine_s", d.cosineS()),
                    givenBetas,
                    p.getDouble("original_elbo_weight", d.originalElboWeight()),
                    p.getDouble("v_posterior", d.vPosterior()),
                    p.getDouble("l_simple_weight", d.lSimpleWeight()),
                    condKey,
                    p.getString("parameterization", d.parameterization()),
                    p.getBoolean("learn_logvar", d.learnLogvar()),
                    p.getDouble("logvar_init", d.logvarInit()),
                    p.getString("ckpt_path", null),
                    p.getStringList("ignore_keys", List.of()),
                    p.getBoolean("load_only_unet", false));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage(), e);
        }
    }

    /**
     * Builds {@code DiffusionWrapper(unet_config, conditioning_key)}.
     *
     * @param p the {@code params} node
     * @param inst the instantiator
     * @param conditioningKey the conditioning key, or null
     * @return the wrapped UNet
     * @throws ConfigException when the key is invalid
     */
    static DiffusionWrapper buildWrapper(ConfigNode p, Instantiator inst, String conditioningKey) {
        UNetModel unet = inst.instantiate(p.getNode("unet_config"), UNetModel.class);
        try {
            return new DiffusionWrapper(unet, conditioningKey);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.pathOf("conditioning_key"), e.getMessage(), e);
        }
    }

    /**
     * Builds {@code scheduler_config} when present.
     *
     * @param p the {@code params} node
     * @param inst the instantiator
     * @return the scheduler, or null
     */
    static LrScheduler readScheduler(ConfigNode p, Instantiator inst) {
        ConfigNode node = p.getNodeOrNull("scheduler_config");
        return node == null ? null : inst.instantiate(node, LrScheduler.class);
    }
}
