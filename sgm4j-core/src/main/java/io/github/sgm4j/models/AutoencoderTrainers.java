package io.github.sgm4j.models;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.noise.NoiseSource;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a first-stage autoencoder for training ({@link AutoencoderTraining}) from the {@code model}
 * section of an original ldm or sgm autoencoder config, and computes its learning rate as the
 * reference's {@code main.py} does.
 */
public final class AutoencoderTrainers {

    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderTrainers.class);

    /** ldm's autoencoder target. */
    public static final String LDM_TARGET = "ldm.models.autoencoder.AutoencoderKL";

    /** sgm's autoencoder targets. */
    public static final Set<String> SGM_TARGETS = Set.of("sgm.models.autoencoder.AutoencodingEngine",
            "sgm.models.autoencoder.AutoencoderKL", "sgm.models.autoencoder.AutoencodingEngineLegacy");

    private AutoencoderTrainers() {}

    /**
     * Whether a {@code model} section is a first-stage autoencoder (ldm or sgm target).
     *
     * @param model the model node
     * @return true for the autoencoder targets
     */
    public static boolean isAutoencoder(ConfigNode model) {
        String t = model.getString("target", "");
        return LDM_TARGET.equals(t) || SGM_TARGETS.contains(t);
    }

    /**
     * Builds the autoencoder with its loss, allocates it with the default initialisation seeded by
     * {@code seed} (then the loss's pretrained LPIPS weights, when it uses LPIPS) and creates its
     * optimizers with {@code learningRate}.
     *
     * @param model the {@code model} section
     * @param manager owns every tensor
     * @param seed the initialisation seed
     * @param learningRate the (scaled) learning rate
     * @return the model, in training mode
     * @throws ConfigException naming the YAML path when the section cannot be trained (no loss
     *     config, unknown target)
     */
    public static AutoencoderTraining build(ConfigNode model, NDManager manager, long seed, double learningRate) {
        String target = model.getString("target", "");
        ConfigNode p = model.getNodeOrEmpty("params");
        AutoencoderTraining t;
        if (LDM_TARGET.equals(target)) {
            if (!p.isNode("lossconfig")) {
                throw new ConfigException(p.pathOf("lossconfig"), LDM_TARGET + " needs a lossconfig to be trained");
            }
            t = LdmAutoencoderTrainer.fromConfig(p, new Instantiator());
        } else if (SGM_TARGETS.contains(target)) {
            if (!p.isNode("loss_config")) {
                throw new ConfigException(p.pathOf("loss_config"), target + " needs a loss_config to be trained");
            }
            t = SgmAutoencoderTrainer.fromConfig(p, new Instantiator());
        } else {
            throw new ConfigException(model.pathOf("target"), "not an autoencoder target: " + target);
        }
        checkChannels(p, LDM_TARGET.equals(target));
        t.module().initialize(manager, NoiseSource.seeded(seed));
        t.module().train();
        t.configureOptimizers(manager, learningRate);
        return t;
    }

    /**
     * The discriminator and LPIPS see the reconstructions: their channel counts must match the
     * decoder's {@code out_ch} (LPIPS's VGG16 takes RGB).
     */
    private static void checkChannels(ConfigNode p, boolean ldm) {
        ConfigNode dd = ldm ? p.getNodeOrEmpty("ddconfig") : p.getNodeOrEmpty("decoder_config").getNodeOrEmpty("params");
        if (!dd.has("out_ch")) {
            return;
        }
        int outCh = dd.getInt("out_ch");
        ConfigNode lp = p.getNodeOrEmpty(ldm ? "lossconfig" : "loss_config").getNodeOrEmpty("params");
        ConfigNode dc = lp.getNodeOrNull("discriminator_config");
        int discIn = dc != null ? dc.getNodeOrEmpty("params").getInt("input_nc", 3) : lp.getInt("disc_in_channels", 3);
        if (discIn != outCh) {
            String key = dc != null ? dc.getNodeOrEmpty("params").pathOf("input_nc") : lp.pathOf("disc_in_channels");
            throw new ConfigException(key, "the discriminator takes " + discIn + "-channel images but the decoder makes "
                    + outCh + " (out_ch): set " + key + " to " + outCh);
        }
        if (outCh != 3 && lp.getDouble("perceptual_weight", 1.0) > 0) {
            throw new ConfigException(lp.pathOf("perceptual_weight"), "LPIPS (VGG16) takes RGB images but the decoder "
                    + "makes " + outCh + "-channel images: set perceptual_weight: 0");
        }
    }

    /**
     * The learning rate of the reference's {@code main.py}: {@code accumulate_grad_batches x devices x
     * batch_size x base_learning_rate} when scaling (its default), else {@code base_learning_rate}.
     *
     * @param root the config root ({@code model.base_learning_rate}, {@code
     *     lightning.trainer.accumulate_grad_batches})
     * @param batchSize the batch size
     * @param devices the number of devices (1 here)
     * @param scale false for {@code --no-scale-lr}
     * @return the learning rate
     */
    public static double learningRate(ConfigNode root, int batchSize, int devices, boolean scale) {
        double base = root.getNode("model").getDouble("base_learning_rate", 4.5e-6);
        int accumulate = accumulateGradBatches(root);
        double lr = scale ? accumulate * devices * batchSize * base : base;
        if (scale) {
            LOG.info("Setting learning rate to {} = {} (accumulate_grad_batches) * {} (num_gpus) * {} (batchsize) * {} "
                    + "(base_lr)", String.format(java.util.Locale.ROOT, "%.2e", lr), accumulate, devices, batchSize,
                    String.format(java.util.Locale.ROOT, "%.2e", base));
        } else {
            LOG.info("Setting learning rate to {}", String.format(java.util.Locale.ROOT, "%.2e", lr));
        }
        return lr;
    }

    /**
     * {@code lightning.trainer.accumulate_grad_batches}, or 1.
     *
     * @param root the config root
     * @return the accumulation factor
     */
    public static int accumulateGradBatches(ConfigNode root) {
        if (root.isNode("lightning") && root.getNode("lightning").isNode("trainer")) {
            ConfigNode t = root.getNode("lightning").getNode("trainer");
            if (t.has("accumulate_grad_batches") && !t.isNull("accumulate_grad_batches")) {
                return t.getInt("accumulate_grad_batches");
            }
        }
        return 1;
    }
}
