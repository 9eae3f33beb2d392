package io.github.sgm4j.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.ldm.DDIMSampler;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.ldm.LatentDiffusion;
import io.github.sgm4j.ldm.PLMSSampler;
import io.github.sgm4j.ldm.SampleResult;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.modules.diffusionmodules.sampling.BaseDiffusionSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.SamplerCallback;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.modules.encoders.text.ClipTokenizer;
import io.github.sgm4j.modules.encoders.text.Tokenizers;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prompt to images with a released Stable Diffusion checkpoint and its original inference config,
 * in one call.
 *
 * <p>Size: the two reference paths (sgm's API helpers and ldm's txt2img script) share the option
 * defaults, size checks and prompt warnings, so they stay in one class.
 *
 * <pre>{@code
 * try (SamplingPipeline p = SamplingPipeline.fromConfig(Path.of("sd_xl_base.yaml"),
 *         Path.of("sd_xl_base_1.0.safetensors"), "cpu")) {
 *     NDArray images = p.txt2img("a lighthouse at dusk", "", GenerationOptions.defaults().withSeed(42));
 *     PngOutput.write(images, Path.of("out"), "img", PngOutput.parameters(...));
 * }
 * }</pre>
 *
 * <p>Two paths, chosen by the config's {@code model.target}:
 *
 * <ul>
 *   <li><b>sgm</b> ({@code sgm.models.diffusion.DiffusionEngine}: {@code sd_2_1*.yaml}, {@code
 *       sd_xl_base.yaml}, {@code sd_xl_refiner.yaml}) as {@code sgm/inference/api.py}'s {@code
 *       SamplingPipeline} and {@code helpers.do_sample} / {@code do_img2img}: the batch per
 *       conditioner key ({@code txt}: the prompt, the negative prompt for {@code uc}; {@code
 *       original_size_as_tuple} and {@code target_size_as_tuple}: (height, width); {@code
 *       crop_coords_top_left}: (0, 0); {@code aesthetic_score}: the options' scores), the sampler
 *       built as the API's {@code get_sampler_config} ({@code LegacyDDPMDiscretization}, {@code
 *       VanillaCFG}), {@code randn} of the latent shape, sampling, decoding. For SDXL base the API
 *       zeroes the text embeddings of {@code uc} ({@code force_uc_zero_embeddings=["txt"]}) and so
 *       ignores any negative prompt; sgm4j does exactly that when the negative prompt is empty and
 *       embeds a non-empty negative prompt instead (what diffusers does for SDXL). SD 2.x and the
 *       refiner embed the negative prompt, as the API does.
 *   <li><b>ldm</b> ({@code ldm.models.diffusion.ddpm.LatentDiffusion}: SD 1.x {@code
 *       v1-inference.yaml}) as ldm's {@code scripts/txt2img.py}: {@code c} from the prompts, {@code
 *       uc} from the negative prompts when the scale is not 1, DDIM (or PLMS) with {@code
 *       unconditional_guidance_scale}, decoding; img2img as ldm's {@code img2img.py} (DDIM {@code
 *       stochastic_encode} and {@code decode}).
 * </ul>
 *
 * <p>Images are returned as {@code [N, 3, H, W]} float32 clamped to [-1, 1] (the reference clamps
 * {@code (x + 1) / 2} to [0, 1]: the same pixels). Prompts longer than the text encoders' 77 tokens
 * are truncated as the reference does, with one warning per prompt naming its token count.
 *
 * <p>Memory: the checkpoint is read a few tensors at a time straight into the model built from the
 * config ({@link SingleFileCheckpoint#initializeAndLoad}: no random initialisation of the loaded
 * tensors first, no memory map of the file), so the peak is about the fp32 model plus one chunk of
 * tensors and the activations of a step. Not thread-safe: one generation at a time per pipeline.
 */
public final class SamplingPipeline implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SamplingPipeline.class);

    /** The sgm samplers by the API's names. */
    private static final Map<String, String> SGM_SAMPLERS = new LinkedHashMap<>();

    static {
        for (String s : List.of("EulerEDMSampler", "HeunEDMSampler", "EulerAncestralSampler", "DPMPP2SAncestralSampler",
                "DPMPP2MSampler", "LinearMultistepSampler")) {
            SGM_SAMPLERS.put(s.toLowerCase(Locale.ROOT), "sgm.modules.diffusionmodules.sampling." + s);
        }
    }

    /** The key of ldm's c / uc in the cached conditioning. */
    private static final String LDM_C = "crossattn";

    private static final String LEGACY_DDPM = "sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization";

    private final NDManager manager;
    private final boolean ownsManager;
    private final ConfigNode root;
    private final DiffusionEngine engine;
    private final LatentDiffusion ldm;
    private final ModelFamily family;
    private final String modelName;
    private final Set<String> warnedPrompts = Collections.synchronizedSet(new LinkedHashSet<>());
    /** The conditioning of the last prompt encoded, by {@link #conditioningKey}; owned by {@link #encodedManager}. */
    private String encodedKey;
    private GeneralConditioner.CondPair encoded;
    private NDManager encodedManager;
    private boolean textEncodersReleased;

    private SamplingPipeline(NDManager manager, boolean ownsManager, ConfigNode root, DiffusionEngine engine,
            LatentDiffusion ldm, String modelName) {
        this.manager = manager;
        this.ownsManager = ownsManager;
        this.root = root;
        this.engine = engine;
        this.ldm = ldm;
        this.family = ModelFamily.detect((engine != null ? (Module) engine : ldm).stateDictKeys());
        this.modelName = modelName;
    }

    /**
     * Builds the model of {@code config} on {@code device} and loads {@code checkpoint} strictly
     * ({@link SingleFileCheckpoint#initializeAndLoad}: the file is checked against the config before
     * any weight is allocated, and its tensors are created straight from the file).
     *
     * @param config an inference config ({@code v1-inference.yaml}, {@code sd_2_1.yaml}, {@code
     *     sd_xl_base.yaml}, ...)
     * @param checkpoint the single-file checkpoint ({@code .safetensors}, {@code .ckpt})
     * @param device {@code cpu}, {@code cuda} or {@code cuda:N}
     * @return the pipeline; close it to free the model
     * @throws io.github.sgm4j.config.ConfigException naming the YAML path of a config error
     * @throws io.github.sgm4j.models.CheckpointException naming the file and keys when the checkpoint
     *     does not fit the config
     */
    public static SamplingPipeline fromConfig(Path config, Path checkpoint, String device) {
        NDManager m = NDManager.newBaseManager(EngineLoader.device(device));
        try {
            return build(EngineLoader.config(config), checkpoint, m, true);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Builds the model of {@code root} in {@code manager} and loads {@code checkpoint} strictly.
     *
     * @param root the config's root
     * @param checkpoint the single-file checkpoint
     * @param manager owns the model (the caller closes it; {@link #close()} does not)
     * @return the pipeline
     * @throws io.github.sgm4j.config.ConfigException naming the YAML path of a config error
     * @throws io.github.sgm4j.models.CheckpointException naming the file and keys when the checkpoint
     *     does not fit the config
     */
    public static SamplingPipeline fromConfig(ConfigNode root, Path checkpoint, NDManager manager) {
        return build(root, checkpoint, manager, false);
    }

    private static SamplingPipeline build(ConfigNode root, Path checkpoint, NDManager m, boolean owns) {
        ConfigNode model = EngineLoader.modelNode(root);
        String target = model.has("target") ? String.valueOf(model.asMap().get("target")) : "";
        String name = checkpoint.getFileName().toString();
        if (target.startsWith("ldm.models.diffusion.ddpm.") || target.startsWith("io.github.sgm4j.ldm.")) {
            DDPM ddpm = new Instantiator().instantiate(model, DDPM.class);
            if (!(ddpm instanceof LatentDiffusion ld)) {
                throw new IllegalArgumentException("config " + root.source() + ": model.target " + target
                        + " is not a LatentDiffusion; text-to-image needs a latent model with a text cond stage");
            }
            SingleFileCheckpoint.initializeAndLoad(checkpoint, ld, m, NoiseSource.seeded(0));
            ld.eval();
            return new SamplingPipeline(m, owns, root, null, ld, name);
        }
        DiffusionEngine e = EngineLoader.build(root);
        SingleFileCheckpoint.initializeAndLoad(checkpoint, e, m, NoiseSource.seeded(0));
        e.eval();
        return new SamplingPipeline(m, owns, root, e, null, name);
    }

    /**
     * The family the config builds.
     *
     * @return the family
     */
    public ModelFamily family() {
        return family;
    }

    /**
     * The checkpoint's file name, recorded in the PNGs.
     *
     * @return the model's name
     */
    public String modelName() {
        return modelName;
    }

    /**
     * The sgm engine, or null on the ldm path.
     *
     * @return the engine
     */
    public DiffusionEngine engine() {
        return engine;
    }

    /**
     * The ldm model, or null on the sgm path.
     *
     * @return the model
     */
    public LatentDiffusion ldm() {
        return ldm;
    }

    /**
     * The sampler a call with {@code options} uses.
     *
     * @param options the options
     * @return e.g. {@code ddim} or {@code DPMPP2MSampler}
     */
    public String samplerName(GenerationOptions options) {
        if (options.sampler() != null) {
            return options.sampler();
        }
        return ldm != null ? "ddim" : "DPMPP2MSampler";
    }

    /**
     * The guidance scale a call with {@code options} uses.
     *
     * @param options the options
     * @return the scale (7.5 for ldm, 6.0 for sgm unless set)
     */
    public double guidanceScale(GenerationOptions options) {
        if (options.guidanceScale() != null) {
            return options.guidanceScale();
        }
        return ldm != null ? 7.5 : 6.0;
    }

    /**
     * The steps a call with {@code options} uses.
     *
     * @param options the options
     * @return the steps (50 unless set)
     */
    public int steps(GenerationOptions options) {
        return options.steps() != null ? options.steps() : 50;
    }

    /**
     * The image size (width, height) a call with {@code options} uses.
     *
     * @param options the options
     * @return {width, height} in pixels
     */
    public int[] size(GenerationOptions options) {
        int def;
        if (ldm != null) {
            def = ldm.getParams().imageSize() * factor();
        } else if (family == ModelFamily.SDXL_BASE || family == ModelFamily.SDXL_REFINER) {
            def = 1024;
        } else {
            ConfigNode sc = EngineLoader.modelNode(root).getNodeOrEmpty("params").getNodeOrEmpty("denoiser_config")
                    .getNodeOrEmpty("params").getNodeOrEmpty("scaling_config");
            def = sc.has("target") && String.valueOf(sc.asMap().get("target")).contains("VScaling") ? 768 : 512;
        }
        return new int[] {options.width() != null ? options.width() : def, options.height() != null ? options.height() : def};
    }

    /**
     * Text to images.
     *
     * @param prompt the prompt (may be empty, as in the reference)
     * @param negative the negative prompt, or null / empty for none
     * @param options steps, scale, sampler, size, seed, n, refiner, progress, result manager
     * @return {@code [n, 3, H, W]} float32 in [-1, 1], owned by {@code options.manager()} or the
     *     pipeline's manager; the caller closes it
     * @throws IllegalArgumentException when the size is not a multiple of the first stage's factor,
     *     the sampler is unknown, or the refiner does not fit
     */
    public NDArray txt2img(String prompt, String negative, GenerationOptions options) {
        return generate(null, prompt, negative, options);
    }

    /**
     * Image to images: on the sgm path the init image is encoded, noised to the level where a
     * schedule pruned by {@code options.strength()} starts ({@code Img2ImgDiscretizationWrapper}) and
     * sampled from there, as sgm's {@code do_img2img}; on the ldm path as ldm's {@code img2img.py}:
     * encoded, {@code stochastic_encode} to DDIM index {@code t_enc = int(strength * steps)}, then
     * {@code t_enc} DDIM steps ({@code decode}).
     *
     * @param init {@code [1 or n, 3, H, W]} in [-1, 1] (H and W multiples of 8); a single image is
     *     repeated for the batch; not closed
     * @param prompt the prompt
     * @param negative the negative prompt, or null / empty
     * @param options as {@link #txt2img}; the size comes from {@code init}
     * @return {@code [n, 3, H, W]} float32 in [-1, 1]; the caller closes it
     * @throws IllegalArgumentException when the image's shape does not fit, or on the ldm path when
     *     {@code int(strength * steps)} reaches the step count (strength 1: the reference fails there
     *     too) or the sampler is not DDIM
     */
    public NDArray img2img(NDArray init, String prompt, String negative, GenerationOptions options) {
        if (init == null) {
            throw new IllegalArgumentException("img2img: init image is null");
        }
        return generate(init, prompt, negative, options);
    }

    /**
     * Images and the latents they were decoded from: what sgm's {@code do_sample(...,
     * return_latents=True)} returns (there the images as {@code (x + 1) / 2} clamped to [0, 1]).
     *
     * @param images {@code [n, 3, H, W]} float32 in [-1, 1]
     * @param latents {@code [n, C, H / f, W / f]}: the sampler's output before the first stage's decoder
     *     (unscaled, as {@code decode_first_stage} receives it)
     */
    public record Generation(NDArray images, NDArray latents) {}

    /**
     * Text to images, also returning the sampled latents ({@code return_latents=True} of sgm's API).
     *
     * @param prompt the prompt (may be empty, as in the reference)
     * @param negative the negative prompt, or null / empty for none
     * @param options as {@link #txt2img}
     * @return the images and latents, both owned by {@code options.manager()} or the pipeline's
     *     manager; the caller closes them
     * @throws IllegalArgumentException as {@link #txt2img}
     */
    public Generation txt2imgWithLatents(String prompt, String negative, GenerationOptions options) {
        return run(null, prompt, negative, options);
    }

    /**
     * Image to images, also returning the sampled latents ({@code return_latents=True} of sgm's API).
     *
     * @param init as {@link #img2img}
     * @param prompt the prompt
     * @param negative the negative prompt, or null / empty
     * @param options as {@link #img2img}
     * @return the images and latents, both owned by {@code options.manager()} or the pipeline's
     *     manager; the caller closes them
     * @throws IllegalArgumentException as {@link #img2img}
     */
    public Generation img2imgWithLatents(NDArray init, String prompt, String negative, GenerationOptions options) {
        if (init == null) {
            throw new IllegalArgumentException("img2img: init image is null");
        }
        return run(init, prompt, negative, options);
    }

    private NDArray generate(NDArray init, String prompt, String negative, GenerationOptions o) {
        Generation g = run(init, prompt, negative, o);
        g.latents().close();
        return g.images();
    }

    private Generation run(NDArray init, String prompt, String negative, GenerationOptions o) {
        String p = prompt == null ? "" : prompt;
        String neg = negative == null ? "" : negative;
        warnIfLong(p);
        warnIfLong(neg);
        NDManager out = o.manager() != null ? o.manager() : manager;
        NoiseSource noise = NoiseSource.seeded(o.seed());
        try (GradMode ignored = GradMode.disabled();
                NDManager work = manager.newSubManager()) {
            NDArray z;
            NDArray images;
            if (ldm != null) {
                z = init != null ? ldmImg2img(init, p, neg, o, noise, work) : ldmTxt2img(p, neg, o, noise, work);
                images = ldm.decodeFirstStage(z);
            } else {
                z = sgmLatents(init, p, neg, o, noise, work);
                SamplingPipeline dec = this;
                if (o.refiner() != null) {
                    SamplingPipeline r = o.refiner();
                    if (r.engine == null) {
                        throw new IllegalArgumentException("refiner: needs an sgm config (sd_xl_refiner.yaml), got "
                                + r.root.source());
                    }
                    double strength = o.refinerStrength() != null ? o.refinerStrength() : 0.15;
                    z = r.refineLatents(z, p, neg, o, strength, noise, work);
                    dec = r;
                }
                images = dec.engine.decode(z);
            }
            images.attach(work);
            NDArray clamped = images.clip(-1.0, 1.0);
            clamped.attach(out);
            z.attach(out);
            return new Generation(clamped, z);
        }
    }

    private void warnIfLong(String prompt) {
        if (prompt.isEmpty() || warnedPrompts.contains(prompt)) {
            return;
        }
        if (Tokenizers.hfClip() instanceof ClipTokenizer t) {
            int len = t.untruncatedLength(prompt);
            if (len > t.contextLength() && warnedPrompts.add(prompt)) {
                LOG.warn("prompt has {} tokens (with start and end); the text encoders read the first {}, as the"
                        + " reference truncates: \"{}\"", len, t.contextLength(), abbreviate(prompt));
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /**
     * Whether a prompt is longer than the text encoders' 77 tokens (it is then truncated).
     *
     * @param prompt the prompt
     * @return its token count with start and end tokens
     */
    public static int tokenCount(String prompt) {
        if (Tokenizers.hfClip() instanceof ClipTokenizer t) {
            return t.untruncatedLength(prompt == null ? "" : prompt);
        }
        throw new IllegalStateException("the CLIP tokenizer is not a ClipTokenizer");
    }

    // ---------------------------------------------------------------------------------------- ldm

    private NDArray ldmTxt2img(String prompt, String negative, GenerationOptions o, NoiseSource noise, NDManager work) {
        int[] size = checkedSize(o);
        int f = factor();
        int n = o.n();
        double scale = guidanceScale(o);
        GeneralConditioner.CondPair cu = ldmConditioning(prompt, negative, n, scale != 1.0);
        NDArray c = cu.c().get(LDM_C);
        NDArray uc = cu.uc().get(LDM_C);
        io.github.sgm4j.ldm.SampleOptions so = io.github.sgm4j.ldm.SampleOptions.defaults().eta(o.eta());
        if (uc != null) {
            so = so.guidance(scale, uc);
        }
        if (o.progress() != null) {
            GenerationOptions.Progress pr = o.progress();
            so = so.callback((i, total, img, x0) -> pr.onStep(i + 1, total));
        }
        Shape shape = new Shape(ldm.getParams().channels(), size[1] / f, size[0] / f);
        String s = samplerName(o).toLowerCase(Locale.ROOT);
        SampleResult res = switch (s) {
            case "ddim" -> new DDIMSampler(ldm).sample(steps(o), n, shape, c, so, noise);
            case "plms" -> new PLMSSampler(ldm).sample(steps(o), n, shape, c, so, noise);
            default -> throw new IllegalArgumentException("sampler '" + samplerName(o) + "' is not an ldm sampler: use"
                    + " ddim or plms with " + root.source());
        };
        res.samples().attach(work);
        res.xInter().forEach(a -> a.attach(work));
        res.predX0().forEach(a -> a.attach(work));
        return res.samples();
    }

    /** ldm's img2img.py up to the latents: repeat, encode, stochastic_encode to t_enc, DDIM decode t_enc steps. */
    private NDArray ldmImg2img(NDArray init, String prompt, String negative, GenerationOptions o, NoiseSource noise,
            NDManager work) {
        int n = o.n();
        checkInit(init, n);
        if (!samplerName(o).equalsIgnoreCase("ddim")) {
            throw new IllegalArgumentException("img2img with an ldm config runs DDIM (as ldm's img2img.py), got sampler '"
                    + samplerName(o) + "'");
        }
        int steps = steps(o);
        int tEnc = (int) (o.strength() * steps);
        if (tEnc >= steps) {
            throw new IllegalArgumentException("img2img (ldm): int(strength * steps) = " + tEnc + " must be below the "
                    + steps + " steps (ldm's img2img.py fails there too): use a strength below 1");
        }
        NDArray batch = init.getShape().get(0) == n ? init : NDArrays.concat(new NDList(Collections.nCopies(n, init)));
        if (batch != init) {
            batch.attach(work);
        }
        NDArray z = ldm.encodeToLatent(batch, noise);
        z.attach(work);
        double scale = guidanceScale(o);
        GeneralConditioner.CondPair cu = ldmConditioning(prompt, negative, n, scale != 1.0);
        NDArray c = cu.c().get(LDM_C);
        NDArray uc = cu.uc().get(LDM_C);
        DDIMSampler sampler = new DDIMSampler(ldm);
        sampler.makeSchedule(steps, "uniform", o.eta());
        NDArray zEnc = sampler.stochasticEncode(z, tEnc, noise);
        zEnc.attach(work);
        io.github.sgm4j.ldm.SampleOptions so = io.github.sgm4j.ldm.SampleOptions.defaults().eta(o.eta());
        if (uc != null) {
            so = so.guidance(scale, uc);
        }
        if (o.progress() != null) {
            GenerationOptions.Progress pr = o.progress();
            so = so.callback((i, total, img, x0) -> pr.onStep(i + 1, total));
        }
        NDArray samples = sampler.decode(zEnc, c, tEnc, so, noise);
        samples.attach(work);
        return samples;
    }

    private void checkInit(NDArray init, int n) {
        Shape s = init.getShape();
        if (s.dimension() != 4 || s.get(1) != 3 || (s.get(0) != 1 && s.get(0) != n)) {
            throw new IllegalArgumentException("img2img: init image must be [1 or " + n + ", 3, H, W], got " + s);
        }
        int f = factor();
        if (s.get(2) % f != 0 || s.get(3) % f != 0) {
            throw new IllegalArgumentException("img2img: init image size " + s.get(3) + "x" + s.get(2)
                    + " is not a multiple of " + f + " (the first stage's downsampling factor)");
        }
    }

    // ---------------------------------------------------------------------------------------- sgm

    private NDArray sgmLatents(NDArray init, String prompt, String negative, GenerationOptions o, NoiseSource noise,
            NDManager work) {
        int n = o.n();
        int f = factor();
        int w;
        int h;
        if (init != null) {
            checkInit(init, n);
            h = (int) init.getShape().get(2);
            w = (int) init.getShape().get(3);
        } else {
            int[] size = checkedSize(o);
            w = size[0];
            h = size[1];
        }
        GeneralConditioner.CondPair cu = conditioning(prompt, negative, sizeValues(w, h, o), n);
        BaseDiffusionSampler sampler = sampler(o, init != null && o.strength() < 1.0 ? o.strength() : null);
        SamplerCallback cb = callback(o);
        if (init == null) {
            NDArray randn = noise.randn(work, new Shape(n, latentChannels(), h / f, w / f));
            NDArray z = sampler.sample(engine.denoiseFunction(), randn, cu.c(), cu.uc(), noise, null, cb);
            z.attach(work);
            return z;
        }
        NDArray batch = init.getShape().get(0) == n ? init : NDArrays.concat(new NDList(Collections.nCopies(n, init)));
        if (batch != init) {
            batch.attach(work);
        }
        NDArray z = engine.encode(batch, noise);
        z.attach(work);
        return img2imgFrom(z, sampler, cu, noise, cb, work);
    }

    /** The value_dict entries of a w x h run: original and target size (height, width), aesthetic scores. */
    private static Map<String, Object> sizeValues(int w, int h, GenerationOptions o) {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("orig_width", w);
        values.put("orig_height", h);
        values.put("target_width", w);
        values.put("target_height", h);
        values.put("aesthetic_score", o.aestheticScore());
        values.put("negative_aesthetic_score", o.negativeAestheticScore());
        return values;
    }

    /**
     * The c / uc of the conditioner a txt2img call with these arguments samples with (sgm path; for
     * the golden parity test, which compares them with the reference's). The arrays are the
     * pipeline's cached conditioning: read them, do not close them.
     */
    GeneralConditioner.CondPair txt2imgConditioning(String prompt, String negative, GenerationOptions o) {
        if (engine == null) {
            throw new IllegalStateException("txt2imgConditioning: the ldm path has no GeneralConditioner");
        }
        int[] size = checkedSize(o);
        try (GradMode ignored = GradMode.disabled()) {
            return conditioning(prompt, negative, sizeValues(size[0], size[1], o), o.n());
        }
    }

    /** do_img2img after the encoding: noise z to sigmas[0], scale by 1 / sqrt(1 + sigma0^2), sample. */
    private NDArray img2imgFrom(NDArray z, BaseDiffusionSampler sampler, GeneralConditioner.CondPair cu,
            NoiseSource noise, SamplerCallback cb, NDManager work) {
        NDArray eps = noise.randnLike(z);
        eps.attach(work);
        float[] sigmas = sampler.sigmas(null);
        float sigma0 = sigmas[0];
        NDArray scaledEps = F.mul(eps, sigma0);
        scaledEps.attach(work);
        NDArray noised = z.add(scaledEps);
        noised.attach(work);
        // float32 as torch: sqrt(1 + sigma0^2) of a float32 tensor
        float denom = (float) Math.sqrt(1.0f + sigma0 * sigma0);
        NDArray scaled = F.div(noised, denom);
        scaled.attach(work);
        if (sigmas.length < 2) {
            return scaled; // strength so low that no step is left: the reference returns the input as well
        }
        NDArray out = sampler.sample(engine.denoiseFunction(), scaled, cu.c(), cu.uc(), noise, null, cb);
        out.attach(work);
        return out;
    }

    /** The refiner's part of sgm's base-then-refiner run: do_img2img on latents (skip_encode). */
    private NDArray refineLatents(NDArray z, String prompt, String negative, GenerationOptions o, double strength,
            NoiseSource noise, NDManager work) {
        if (family != ModelFamily.SDXL_REFINER) {
            LOG.warn("refiner: the config builds {}, not an SDXL refiner", family.label());
        }
        int n = (int) z.getShape().get(0);
        Map<String, Object> values = sizeValues((int) z.getShape().get(3) * 8, (int) z.getShape().get(2) * 8, o);
        GeneralConditioner.CondPair cu = conditioning(prompt, negative, values, n);
        BaseDiffusionSampler sampler = sampler(o, strength < 1.0 ? strength : null);
        return img2imgFrom(z, sampler, cu, noise, callback(o), work);
    }

    private SamplerCallback callback(GenerationOptions o) {
        if (o.progress() == null) {
            return null;
        }
        GenerationOptions.Progress pr = o.progress();
        return (step, total, sigma, denoised) -> {
            pr.onStep(step + 1, total);
            return true;
        };
    }

    /** get_batch + get_unconditional_conditioning of sgm's helpers. */
    private GeneralConditioner.CondPair conditioning(String prompt, String negative, Map<String, Object> v, int n) {
        String cacheKey = conditioningKey(prompt, negative, n, v.toString());
        GeneralConditioner.CondPair hit = cached(cacheKey, prompt);
        if (hit != null) {
            return hit;
        }
        NDManager keep = cacheManager();
        GeneralConditioner cond = engine.getConditioner();
        Map<String, Object> batch = new LinkedHashMap<>();
        Map<String, Object> batchUc = new LinkedHashMap<>();
        int textEmbedders = 0;
        for (AbstractEmbModel e : cond.getEmbedders()) {
            for (String key : inputKeys(e)) {
                if (key.equals("txt")) {
                    textEmbedders++;
                }
                if (batch.containsKey(key)) {
                    continue;
                }
                switch (key) {
                    case "txt" -> {
                        batch.put(key, Collections.nCopies(n, prompt));
                        batchUc.put(key, Collections.nCopies(n, negative));
                    }
                    case "original_size_as_tuple" -> batch.put(key, rows(keep, n, v.get("orig_height"), v.get("orig_width")));
                    case "crop_coords_top_left" -> batch.put(key, rows(keep, n, 0, 0));
                    case "target_size_as_tuple" -> batch.put(key, rows(keep, n, v.get("target_height"), v.get("target_width")));
                    case "aesthetic_score" -> {
                        batch.put(key, rows(keep, n, v.get("aesthetic_score")));
                        batchUc.put(key, rows(keep, n, v.get("negative_aesthetic_score")));
                    }
                    default -> throw new IllegalArgumentException("the conditioner of " + root.source() + " reads '" + key
                            + "', which the text-to-image pipeline does not provide (it provides txt,"
                            + " original_size_as_tuple, crop_coords_top_left, target_size_as_tuple, aesthetic_score)");
                }
            }
        }
        for (Map.Entry<String, Object> e : batch.entrySet()) {
            batchUc.putIfAbsent(e.getKey(), e.getValue());
        }
        // sgm's API zeroes the uc text embeddings of SDXL base (not legacy); sgm4j embeds a non-empty negative prompt
        List<String> zero = family == ModelFamily.SDXL_BASE && negative.isEmpty() ? List.of("txt") : List.of();
        GeneralConditioner.CondPair cu = cond.getUnconditionalConditioning(batch, batchUc, zero, null);
        return remember(cacheKey, cu);
    }

    /** ldm's c (and uc when guided) under the key {@link #LDM_C}, cached like the sgm conditioning. */
    private GeneralConditioner.CondPair ldmConditioning(String prompt, String negative, int n, boolean guided) {
        String key = conditioningKey(prompt, negative, n, "ldm guided=" + guided);
        GeneralConditioner.CondPair hit = cached(key, prompt);
        if (hit != null) {
            return hit;
        }
        cacheManager();
        Map<String, NDArray> c = new LinkedHashMap<>();
        Map<String, NDArray> uc = new LinkedHashMap<>();
        c.put(LDM_C, ldm.getLearnedConditioning(Collections.nCopies(n, prompt)));
        if (guided) {
            uc.put(LDM_C, ldm.getLearnedConditioning(Collections.nCopies(n, negative)));
        }
        return remember(key, new GeneralConditioner.CondPair(c, uc));
    }

    /** The batch keys an embedder reads ({@code input_key} or {@code input_keys}). */
    private static List<String> inputKeys(AbstractEmbModel e) {
        return e.getInputKey() != null ? List.of(e.getInputKey())
                : e.getInputKeys() != null ? e.getInputKeys() : List.of();
    }

    private static String conditioningKey(String prompt, String negative, int n, String rest) {
        return prompt + '\u0000' + negative + '\u0000' + n + '\u0000' + rest;
    }

    /** The cached conditioning of {@code key}, null when it must be computed; refused once the encoders are gone. */
    private GeneralConditioner.CondPair cached(String key, String prompt) {
        if (key.equals(encodedKey)) {
            return encoded;
        }
        if (textEncodersReleased) {
            throw new IllegalStateException("the text encoders of " + modelName + " were released"
                    + " (releaseTextEncoders): this pipeline can only generate with the prompt, negative prompt,"
                    + " batch size and image size it encoded before, not \"" + abbreviate(prompt) + "\"");
        }
        return null;
    }

    /**
     * A fresh manager for the conditioning about to be computed (the previous one is freed); {@link
     * #remember} then moves the result into it.
     */
    private NDManager cacheManager() {
        if (encodedManager != null) {
            encodedManager.close();
        }
        encoded = null;
        encodedKey = null;
        encodedManager = manager.newSubManager();
        return encodedManager;
    }

    private GeneralConditioner.CondPair remember(String key, GeneralConditioner.CondPair cu) {
        NDManager keep = encodedManager;
        cu.c().values().forEach(a -> a.attach(keep));
        cu.uc().values().forEach(a -> a.attach(keep));
        encoded = cu;
        encodedKey = key;
        return cu;
    }

    /**
     * Runs the text encoders for a generation with these arguments and keeps the result, so that
     * {@link #releaseTextEncoders()} can free their weights before sampling: the same call of
     * {@link #txt2img} (and {@link #img2img} at the same size) then reuses it. With a refiner in
     * {@code options}, the refiner's conditioning is prepared too. Only the last prompt is kept.
     *
     * @param prompt the prompt
     * @param negative the negative prompt ("" for none)
     * @param options the generation's options (batch size, image size, guidance scale, refiner)
     * @throws IllegalStateException when the text encoders were already released
     */
    public void encodePrompt(String prompt, String negative, GenerationOptions options) {
        String p = prompt == null ? "" : prompt;
        String neg = negative == null ? "" : negative;
        try (GradMode ignored = GradMode.disabled()) {
            if (ldm != null) {
                ldmConditioning(p, neg, options.n(), guidanceScale(options) != 1.0);
                return;
            }
            int[] size = checkedSize(options);
            Map<String, Object> values = sizeValues(size[0], size[1], options);
            conditioning(p, neg, values, options.n());
            if (options.refiner() != null && options.refiner().engine != null) {
                options.refiner().conditioning(p, neg, values, options.n());
            }
        }
    }

    /**
     * Frees the weights of the text encoders (ldm's {@code cond_stage_model}; the embedders of sgm's
     * conditioner that read {@code txt}) once {@link #encodePrompt} has run: for SDXL they are 3.3 GB
     * of the model's 13.9 GB in float32. Afterwards only the prompt encoded last can be generated
     * with; any other throws {@link IllegalStateException}. The command line does this before
     * sampling; a long-lived pipeline serving many prompts keeps its encoders.
     *
     * @return the number of floats freed
     */
    public long releaseTextEncoders() {
        long freed = 0;
        List<io.github.sgm4j.nn.Module> towers = new ArrayList<>();
        if (ldm != null) {
            io.github.sgm4j.nn.Module cs = ldm.getCondStageModel();
            // never the first stage itself (__is_first_stage__), which decodes the latents
            if (cs != null && cs != ldm.getFirstStageModel()) {
                towers.add(cs);
            }
        } else {
            for (AbstractEmbModel e : engine.getConditioner().getEmbedders()) {
                if (inputKeys(e).contains("txt")) {
                    towers.add(e);
                }
            }
        }
        for (io.github.sgm4j.nn.Module t : towers) {
            for (io.github.sgm4j.nn.Parameter q : t.namedTensors().values()) {
                if (q.isInitialized()) {
                    freed += q.getShape().size();
                }
            }
            t.release();
        }
        textEncodersReleased = true;
        return freed;
    }

    private static NDArray rows(NDManager m, int n, Object... values) {
        float[] data = new float[n * values.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < values.length; j++) {
                data[i * values.length + j] = ((Number) values[j]).floatValue();
            }
        }
        return Tensors.create(m, data, new Shape(n, values.length));
    }

    /** The API's get_sampler_config, through the Instantiator. */
    private BaseDiffusionSampler sampler(GenerationOptions o, Double img2imgStrength) {
        String name = samplerName(o);
        String target = name.startsWith("sgm.") || name.startsWith("io.github.") ? name
                : SGM_SAMPLERS.get(name.toLowerCase(Locale.ROOT));
        if (target == null) {
            throw new IllegalArgumentException("unknown sampler '" + name + "' for an sgm config; known: "
                    + List.of("EulerEDMSampler", "HeunEDMSampler", "EulerAncestralSampler", "DPMPP2SAncestralSampler",
                            "DPMPP2MSampler", "LinearMultistepSampler"));
        }
        Map<String, Object> disc = new LinkedHashMap<>(Map.of("target", LEGACY_DDPM));
        if (img2imgStrength != null) {
            Map<String, Object> wrapper = new LinkedHashMap<>();
            wrapper.put("target", "sgm.inference.helpers.Img2ImgDiscretizationWrapper");
            wrapper.put("params", new LinkedHashMap<>(Map.of("discretization_config", disc, "strength", img2imgStrength)));
            disc = wrapper;
        }
        Map<String, Object> guider = new LinkedHashMap<>();
        guider.put("target", "sgm.modules.diffusionmodules.guiders.VanillaCFG");
        guider.put("params", new LinkedHashMap<>(Map.of("scale", guidanceScale(o))));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("num_steps", steps(o));
        params.put("discretization_config", disc);
        params.put("guider_config", guider);
        Map<String, Object> node = new LinkedHashMap<>();
        node.put("target", target);
        node.put("params", params);
        return new Instantiator().instantiate(ConfigNode.of(node), BaseDiffusionSampler.class);
    }

    // ------------------------------------------------------------------------------------ shapes

    private int[] checkedSize(GenerationOptions o) {
        int[] size = size(o);
        int f = factor();
        if (size[0] % f != 0 || size[1] % f != 0) {
            throw new IllegalArgumentException("image size " + size[0] + "x" + size[1] + " is not a multiple of " + f
                    + " (the first stage's downsampling factor)");
        }
        return size;
    }

    private int factor() {
        Module fs = ldm != null ? ldm.getFirstStageModel() : engine.getFirstStageModel();
        if (fs instanceof AutoencoderKL vae) {
            return vae.getDDConfig().downsamplingFactor();
        }
        throw new IllegalArgumentException("the first stage " + fs.getClass().getSimpleName()
                + " is not an AutoencoderKL: text-to-image needs a latent model");
    }

    private long latentChannels() {
        UNetModel u = findUNet(engine.getModel());
        if (u == null) {
            throw new IllegalArgumentException("the network of " + root.source() + " holds no UNetModel");
        }
        return u.getParams().inChannels();
    }

    private static UNetModel findUNet(Module m) {
        if (m instanceof UNetModel u) {
            return u;
        }
        List<Module> children = new ArrayList<>(m.children().values());
        for (Module c : children) {
            UNetModel u = findUNet(c);
            if (u != null) {
                return u;
            }
        }
        return null;
    }

    /** Frees the model when the pipeline created its manager ({@link #fromConfig(Path, Path, String)}). */
    @Override
    public void close() {
        if (encodedManager != null) {
            encodedManager.close();
            encodedManager = null;
        }
        if (ownsManager) {
            manager.close();
        }
    }
}
