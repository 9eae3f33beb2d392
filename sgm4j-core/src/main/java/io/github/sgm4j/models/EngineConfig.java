package io.github.sgm4j.models;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.config.Targets;
import io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser;
import io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss;
import io.github.sgm4j.modules.diffusionmodules.sampling.BaseDiffusionSampler;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.optim.AdamW;
import io.github.sgm4j.optim.LrScheduler;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The config wiring of {@link DiffusionEngine#fromConfig}: reads sgm's {@code DiffusionEngine}
 * params, instantiates the nested {@code *_config} nodes (network, wrapper, denoiser, sampler,
 * conditioner, first stage, loss, optimizer, scheduler) and calls the engine's constructor.
 */
final class EngineConfig {

    /** Logs under the engine's name, as before the split. */
    private static final Logger LOG = LoggerFactory.getLogger(DiffusionEngine.class);

    private EngineConfig() {}

    /**
     * Builds the engine from the {@code params} node.
     *
     * @param p the {@code params} node of the model config
     * @param inst the instantiator for the nested nodes
     * @return the engine
     * @throws ConfigException when a key is missing, invalid or unsupported
     */
    static DiffusionEngine build(ConfigNode p, Instantiator inst) {
        Module net = inst.instantiate(p.getNode("network_config"), Module.class);
        boolean compile = p.getBoolean("compile_model", false);
        if (compile) {
            LOG.info("compile_model is accepted and has no effect in sgm4j");
        }
        Module wrapped = wrap(net, p.getString("network_wrapper", DiffusionEngine.DEFAULT_WRAPPER),
                p.pathOf("network_wrapper"));
        Denoiser denoiser = inst.instantiate(p.getNode("denoiser_config"), Denoiser.class);
        ConfigNode samplerNode = p.getNodeOrNull("sampler_config");
        BaseDiffusionSampler sampler = samplerNode == null ? null : inst.instantiate(samplerNode, BaseDiffusionSampler.class);
        ConfigNode condNode = p.getNodeOrNull("conditioner_config");
        GeneralConditioner conditioner = condNode == null
                ? new GeneralConditioner(List.of())
                : inst.instantiate(condNode, GeneralConditioner.class);
        Module firstStage = inst.instantiate(p.getNode("first_stage_config"), Module.class);
        ConfigNode lossNode = p.getNodeOrNull("loss_fn_config");
        StandardDiffusionLoss loss = lossNode == null ? null : inst.instantiate(lossNode, StandardDiffusionLoss.class);
        ConfigNode optNode = p.getNodeOrNull("optimizer_config");
        AdamW.Params opt = AdamW.Params.withLr(1e-4);
        if (optNode != null) {
            String target = optNode.getString("target");
            if (!"torch.optim.AdamW".equals(target) && !AdamW.class.getName().equals(target)) {
                throw new ConfigException(optNode.pathOf("target"),
                        "optimizer " + target + " is not supported; sgm4j trains with torch.optim.AdamW");
            }
            ConfigNode op = optNode.getNodeOrEmpty("params");
            opt = AdamW.Params.fromConfig(op, 1e-4);
            op.checkAllKeysRead(Set.of());
        }
        ConfigNode schedNode = p.getNodeOrNull("scheduler_config");
        LrScheduler sched = schedNode == null ? null : inst.instantiate(schedNode, LrScheduler.class);
        boolean disableAutocast = p.getBoolean("disable_first_stage_autocast", false);
        if (disableAutocast) {
            LOG.debug("disable_first_stage_autocast: sgm4j's first stage runs in the model dtype (no autocast)");
        }
        Integer chunk = p.isNull("en_and_decode_n_samples_a_time") ? null : p.getInt("en_and_decode_n_samples_a_time");
        if (chunk != null && chunk < 1) {
            throw new ConfigException(p.pathOf("en_and_decode_n_samples_a_time"), "must be >= 1, got " + chunk);
        }
        DiffusionEngine.Params params = new DiffusionEngine.Params(
                p.getString("input_key", "jpg"),
                p.getBoolean("use_ema", false),
                p.getDouble("ema_decay_rate", 0.9999),
                p.getDouble("scale_factor", 1.0),
                chunk,
                p.getStringList("log_keys", null),
                p.getBoolean("no_cond_log", false),
                p.getString("ckpt_path", null));
        return new DiffusionEngine(params, wrapped, denoiser, sampler, conditioner, firstStage, loss, opt, sched);
    }


    /**
     * Wraps the network in {@code network_wrapper}: the wrapper class's public one-argument
     * constructor accepting the network.
     *
     * @param net the network
     * @param wrapperTarget the wrapper's target name
     * @param path the YAML path of {@code network_wrapper}, for messages
     * @return the wrapped network
     * @throws ConfigException when the wrapper is unknown, unavailable or cannot wrap {@code net}
     */
    static Module wrap(Module net, String wrapperTarget, String path) {
        String cn = Targets.className(wrapperTarget, path);
        try {
            Class<?> c = Class.forName(cn);
            for (Constructor<?> k : c.getConstructors()) {
                Class<?>[] types = k.getParameterTypes();
                if (types.length == 1 && types[0].isInstance(net)) {
                    return (Module) k.newInstance(net);
                }
            }
            throw new ConfigException(path, "network wrapper " + cn + " has no public constructor taking a "
                    + net.getClass().getSimpleName());
        } catch (ClassNotFoundException e) {
            throw new ConfigException(path, "network wrapper " + wrapperTarget + " is not available in this build");
        } catch (InstantiationException | IllegalAccessException e) {
            throw new ConfigException(path, "cannot create network wrapper " + cn + ": " + e);
        } catch (InvocationTargetException e) {
            throw new ConfigException(path, "cannot create network wrapper " + cn + ": " + e.getCause(), e.getCause());
        }
    }
}
