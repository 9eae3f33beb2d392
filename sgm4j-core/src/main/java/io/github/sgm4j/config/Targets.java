package io.github.sgm4j.config;

import static java.util.Map.entry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The one visible table of config targets: original dotted sgm/ldm names mapped to the sgm4j
 * class that implements them. Java class names work as targets too: a fully qualified class with a
 * {@code public static fromConfig(ConfigNode params, Instantiator inst)} method resolves to itself.
 *
 * <p>Classes are named as strings and loaded on first use. Targets sgm4j does not (yet) implement
 * (image and T5/BERT encoders, video models, data modules of other projects) are listed apart in {@link
 * #UNSUPPORTED}: using one gives a precise "known but not available in this build" error naming
 * the YAML path instead of "unknown target".
 */
public final class Targets {

    /** Sentinel config values sgm/ldm use instead of a target mapping. */
    public enum Sentinel {
        /** {@code __is_first_stage__}: the conditioning stage is the first stage model. */
        FIRST_STAGE("__is_first_stage__"),
        /** {@code __is_unconditional__}: no conditioning stage. */
        UNCONDITIONAL("__is_unconditional__");

        private final String text;

        Sentinel(String text) {
            this.text = text;
        }

        /**
         * The YAML spelling.
         *
         * @return the sentinel as written in configs, such as {@code __is_first_stage__}
         */
        public String text() {
            return text;
        }

        /**
         * The sentinel spelled by {@code value}, or null.
         *
         * @param value a config value (any type; only strings can match)
         * @return the sentinel whose {@link #text()} equals {@code value}, or null when none does
         */
        public static Sentinel of(Object value) {
            for (Sentinel s : values()) {
                if (s.text.equals(value)) {
                    return s;
                }
            }
            return null;
        }
    }

    /**
     * Original target name to the Java class implementing it (each present in this build, with a
     * {@code public static fromConfig(ConfigNode, Instantiator)} factory; {@code TargetsTableTest}
     * checks it).
     */
    public static final Map<String, String> TABLE = Map.ofEntries(
            entry("sgm.models.diffusion.DiffusionEngine", "io.github.sgm4j.models.DiffusionEngine"),
            entry("sgm.models.autoencoder.AutoencoderKL", "io.github.sgm4j.models.AutoencoderKL"),
            entry("sgm.models.autoencoder.AutoencodingEngineLegacy", "io.github.sgm4j.models.AutoencoderKL"),
            entry("sgm.models.autoencoder.AutoencodingEngine", "io.github.sgm4j.models.AutoencoderKL"),
            entry("sgm.models.autoencoder.IdentityFirstStage", "io.github.sgm4j.models.IdentityFirstStage"),
            entry("ldm.models.autoencoder.AutoencoderKL", "io.github.sgm4j.models.AutoencoderKL"),
            entry("ldm.models.autoencoder.IdentityFirstStage", "io.github.sgm4j.models.IdentityFirstStage"),
            entry("sgm.modules.autoencoding.regularizers.DiagonalGaussianRegularizer", "io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer"),
            entry("ldm.modules.losses.LPIPSWithDiscriminator", "io.github.sgm4j.modules.autoencoding.losses.LPIPSWithDiscriminator"),
            entry("sgm.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator", "io.github.sgm4j.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator"),
            entry("sgm.modules.autoencoding.losses.discriminator_loss.GeneralLPIPSWithDiscriminator", "io.github.sgm4j.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator"),
            entry("sgm.modules.distributions.distributions.DiagonalGaussianDistribution", "io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution"),
            entry("sgm.modules.diffusionmodules.model.Encoder", "io.github.sgm4j.modules.diffusionmodules.model.Encoder"),
            entry("sgm.modules.diffusionmodules.model.Decoder", "io.github.sgm4j.modules.diffusionmodules.model.Decoder"),
            entry("ldm.modules.diffusionmodules.model.Encoder", "io.github.sgm4j.modules.diffusionmodules.model.Encoder"),
            entry("ldm.modules.diffusionmodules.model.Decoder", "io.github.sgm4j.modules.diffusionmodules.model.Decoder"),
            entry("sgm.modules.diffusionmodules.openaimodel.UNetModel", "io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel"),
            entry("ldm.modules.diffusionmodules.openaimodel.UNetModel", "io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel"),
            entry("sgm.modules.diffusionmodules.wrappers.OpenAIWrapper", "io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper"),
            entry("sgm.modules.diffusionmodules.denoiser.Denoiser", "io.github.sgm4j.modules.diffusionmodules.denoiser.Denoiser"),
            entry("sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser", "io.github.sgm4j.modules.diffusionmodules.denoiser.DiscreteDenoiser"),
            entry("sgm.modules.diffusionmodules.denoiser_scaling.EDMScaling", "io.github.sgm4j.modules.diffusionmodules.denoiserscaling.EDMScaling"),
            entry("sgm.modules.diffusionmodules.denoiser_scaling.EpsScaling", "io.github.sgm4j.modules.diffusionmodules.denoiserscaling.EpsScaling"),
            entry("sgm.modules.diffusionmodules.denoiser_scaling.VScaling", "io.github.sgm4j.modules.diffusionmodules.denoiserscaling.VScaling"),
            entry("sgm.modules.diffusionmodules.denoiser_scaling.VScalingWithEDMcNoise", "io.github.sgm4j.modules.diffusionmodules.denoiserscaling.VScalingWithEDMcNoise"),
            entry("sgm.modules.diffusionmodules.discretizer.EDMDiscretization", "io.github.sgm4j.modules.diffusionmodules.discretizer.EDMDiscretization"),
            entry("sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization", "io.github.sgm4j.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization"),
            entry("sgm.inference.helpers.Img2ImgDiscretizationWrapper", "io.github.sgm4j.modules.diffusionmodules.discretizer.Img2ImgDiscretizationWrapper"),
            entry("sgm.modules.diffusionmodules.guiders.VanillaCFG", "io.github.sgm4j.modules.diffusionmodules.guiders.VanillaCFG"),
            entry("sgm.modules.diffusionmodules.guiders.IdentityGuider", "io.github.sgm4j.modules.diffusionmodules.guiders.IdentityGuider"),
            entry("sgm.modules.diffusionmodules.sampling.EulerEDMSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.EulerEDMSampler"),
            entry("sgm.modules.diffusionmodules.sampling.HeunEDMSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.HeunEDMSampler"),
            entry("sgm.modules.diffusionmodules.sampling.EulerAncestralSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.EulerAncestralSampler"),
            entry("sgm.modules.diffusionmodules.sampling.DPMPP2SAncestralSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.DPMPP2SAncestralSampler"),
            entry("sgm.modules.diffusionmodules.sampling.DPMPP2MSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.DPMPP2MSampler"),
            entry("sgm.modules.diffusionmodules.sampling.LinearMultistepSampler", "io.github.sgm4j.modules.diffusionmodules.sampling.LinearMultistepSampler"),
            entry("sgm.modules.diffusionmodules.loss.StandardDiffusionLoss", "io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss"),
            entry("sgm.modules.diffusionmodules.sigma_sampling.EDMSampling", "io.github.sgm4j.modules.diffusionmodules.sigmasampling.EDMSampling"),
            entry("sgm.modules.diffusionmodules.sigma_sampling.DiscreteSampling", "io.github.sgm4j.modules.diffusionmodules.sigmasampling.DiscreteSampling"),
            entry("sgm.modules.diffusionmodules.sigma_sampling.ZeroSampler", "io.github.sgm4j.modules.diffusionmodules.sigmasampling.ZeroSampler"),
            entry("sgm.modules.diffusionmodules.loss_weighting.UnitWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.UnitWeighting"),
            entry("sgm.modules.diffusionmodules.denoiser_weighting.UnitWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.UnitWeighting"),
            entry("sgm.modules.diffusionmodules.loss_weighting.EDMWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.EDMWeighting"),
            entry("sgm.modules.diffusionmodules.denoiser_weighting.EDMWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.EDMWeighting"),
            entry("sgm.modules.diffusionmodules.loss_weighting.VWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.VWeighting"),
            entry("sgm.modules.diffusionmodules.denoiser_weighting.VWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.VWeighting"),
            entry("sgm.modules.diffusionmodules.loss_weighting.EpsWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.EpsWeighting"),
            entry("sgm.modules.diffusionmodules.denoiser_weighting.EpsWeighting", "io.github.sgm4j.modules.diffusionmodules.lossweighting.EpsWeighting"),
            entry("sgm.modules.GeneralConditioner", "io.github.sgm4j.modules.encoders.GeneralConditioner"),
            entry("sgm.modules.encoders.modules.GeneralConditioner", "io.github.sgm4j.modules.encoders.GeneralConditioner"),
            entry("sgm.modules.encoders.modules.ClassEmbedder", "io.github.sgm4j.modules.encoders.ClassEmbedder"),
            entry("sgm.modules.encoders.modules.ConcatTimestepEmbedderND", "io.github.sgm4j.modules.encoders.ConcatTimestepEmbedderND"),
            entry("sgm.modules.encoders.modules.IdentityEncoder", "io.github.sgm4j.modules.encoders.IdentityEncoder"),
            entry("sgm.modules.ema.LitEma", "io.github.sgm4j.modules.LitEma"),
            entry("ldm.modules.ema.LitEma", "io.github.sgm4j.modules.LitEma"),
            entry("sgm.lr_scheduler.LambdaLinearScheduler", "io.github.sgm4j.optim.LambdaLinearScheduler"),
            entry("ldm.lr_scheduler.LambdaLinearScheduler", "io.github.sgm4j.optim.LambdaLinearScheduler"),
            entry("sgm.lr_scheduler.LambdaWarmUpCosineScheduler", "io.github.sgm4j.optim.LambdaWarmUpCosineScheduler"),
            entry("ldm.lr_scheduler.LambdaWarmUpCosineScheduler", "io.github.sgm4j.optim.LambdaWarmUpCosineScheduler"),
            entry("sgm.lr_scheduler.LambdaWarmUpCosineScheduler2", "io.github.sgm4j.optim.LambdaWarmUpCosineScheduler2"),
            entry("ldm.lr_scheduler.LambdaWarmUpCosineScheduler2", "io.github.sgm4j.optim.LambdaWarmUpCosineScheduler2"),
            entry("torch.optim.AdamW", "io.github.sgm4j.optim.AdamW"),
            entry("torch.nn.Identity", "io.github.sgm4j.nn.Identity"),
            entry("torch.nn.BatchNorm2d", "io.github.sgm4j.nn.BatchNorm2d"),
            entry("torch.nn.LeakyReLU", "io.github.sgm4j.nn.LeakyReLU"),
            entry("torch.nn.ReLU", "io.github.sgm4j.nn.ReLU"),
            entry("torch.nn.MaxPool2d", "io.github.sgm4j.nn.MaxPool2d"),
            entry("sgm.modules.autoencoding.lpips.model.model.NLayerDiscriminator", "io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator"),
            entry("taming.modules.discriminator.model.NLayerDiscriminator", "io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator"),
            entry("sgm.modules.autoencoding.lpips.loss.lpips.LPIPS", "io.github.sgm4j.modules.autoencoding.lpips.LPIPS"),
            entry("taming.modules.losses.lpips.LPIPS", "io.github.sgm4j.modules.autoencoding.lpips.LPIPS"),
            entry("ldm.models.diffusion.ddpm.DDPM", "io.github.sgm4j.ldm.DDPM"),
            entry("ldm.models.diffusion.ddpm.LatentDiffusion", "io.github.sgm4j.ldm.LatentDiffusion"),
            entry("ldm.models.diffusion.ddim.DDIMSampler", "io.github.sgm4j.ldm.DDIMSampler"),
            entry("ldm.models.diffusion.plms.PLMSSampler", "io.github.sgm4j.ldm.PLMSSampler"),
            entry("ldm.modules.encoders.modules.ClassEmbedder", "io.github.sgm4j.ldm.ClassEmbedder"),
            entry("sgm.modules.encoders.modules.FrozenCLIPEmbedder", "io.github.sgm4j.modules.encoders.text.FrozenCLIPEmbedder"),
            entry("ldm.modules.encoders.modules.FrozenCLIPEmbedder", "io.github.sgm4j.modules.encoders.text.FrozenCLIPEmbedder"),
            entry("sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder", "io.github.sgm4j.modules.encoders.text.FrozenOpenCLIPEmbedder"),
            entry("ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder", "io.github.sgm4j.modules.encoders.text.FrozenOpenCLIPEmbedder"),
            entry("sgm.modules.encoders.modules.FrozenOpenCLIPEmbedder2", "io.github.sgm4j.modules.encoders.text.FrozenOpenCLIPEmbedder2"));

    /**
     * Targets of the original projects that sgm4j knows but does not implement (T5/BERT text encoders,
     * video models, data modules of the reference training scripts, ...), each with what it is:
     * using one gives "known but not available in this build" naming the YAML path, instead of
     * "unknown target".
     */
    public static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            entry("sgm.models.autoencoder.AutoencoderKLModeOnly", "autoencoder variant"),
            entry("ldm.models.autoencoder.VQModelInterface", "VQ autoencoder (vector quantization is not ported)"),
            entry("sgm.modules.autoencoding.temporal_ae.VideoDecoder", "video model"),
            entry("sgm.modules.diffusionmodules.video_model.VideoUNet", "video model"),
            entry("sgm.modules.diffusionmodules.wrappers.IdentityWrapper", "network wrapper"),
            entry("sgm.modules.encoders.modules.FrozenOpenCLIPImageEmbedder", "image encoder (OpenCLIP)"),
            entry("sgm.modules.encoders.modules.FrozenOpenCLIPImagePredictionEmbedder", "video conditioning encoder (OpenCLIP)"),
            entry("sgm.modules.encoders.modules.VideoPredictionEmbedderWithEncoder", "video conditioning encoder"),
            entry("sgm.modules.encoders.modules.FrozenT5Embedder", "text encoder (T5)"),
            entry("sgm.modules.encoders.modules.SpatialRescaler", "conditioning encoder"),
            entry("ldm.models.diffusion.ddpm.LatentInpaintDiffusion", "inpainting model"),
            entry("ldm.modules.encoders.modules.BERTEmbedder", "text encoder (BERT)"),
            entry("sgm.data.mnist.MNISTLoader", "data module of sgm's training scripts"),
            entry("sgm.data.cifar10.CIFAR10Loader", "data module of sgm's training scripts"),
            entry("sgm.data.dataset.StableDataModuleFromConfig", "data module of sgm's training scripts"));

    private Targets() {}

    /**
     * The Java class name implementing {@code target}.
     *
     * @param target an original dotted name or a Java class name
     * @param path the YAML path of the {@code target} key, for the message
     * @return the fully qualified class name
     * @throws ConfigException for an unknown target, naming the closest known names, or a known but
     *     unsupported one ({@link #UNSUPPORTED})
     */
    public static String className(String target, String path) {
        String mapped = TABLE.get(target);
        if (mapped != null) {
            return mapped;
        }
        String unsupported = UNSUPPORTED.get(target);
        if (unsupported != null) {
            throw new ConfigException(path, "target " + target + " is known but not available in this build ("
                    + unsupported + ", not part of sgm4j yet)");
        }
        if (TABLE.containsValue(target)) {
            return target;
        }
        try {
            Class<?> c = Class.forName(target, false, Targets.class.getClassLoader());
            c.getMethod("fromConfig", ConfigNode.class, Instantiator.class);
            return target;
        } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
            List<String> names = new ArrayList<>(new TreeSet<>(TABLE.keySet()));
            names.addAll(new TreeSet<>(UNSUPPORTED.keySet()));
            names.addAll(new TreeSet<>(TABLE.values()));
            throw new ConfigException(path, "unknown target '" + target + "'"
                    + ConfigNode.suggestion(target, names));
        }
    }

    /**
     * Whether {@code target} is in either table or names a Java class of {@link #TABLE}.
     *
     * @param target an original dotted name or a Java class name
     * @return true when known (implemented or not)
     */
    public static boolean isKnown(String target) {
        return TABLE.containsKey(target) || TABLE.containsValue(target) || UNSUPPORTED.containsKey(target);
    }

    /**
     * Whether the class implementing {@code target} is present in this build.
     *
     * @param target an original dotted name or a Java class name
     * @return false for unknown and {@link #UNSUPPORTED} targets
     */
    public static boolean isAvailable(String target) {
        if (UNSUPPORTED.containsKey(target)) {
            return false;
        }
        String cn = TABLE.getOrDefault(target, target);
        try {
            Class.forName(cn, false, Targets.class.getClassLoader()).getMethod(
                    "fromConfig", ConfigNode.class, Instantiator.class);
            return true;
        } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
            return false;
        }
    }
}
