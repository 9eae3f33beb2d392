package io.github.sgm4j.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.StateDictFile;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.models.CheckpointException;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.TensorSpec;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a released single-file checkpoint ({@code .safetensors}, or a PyTorch zip {@code .ckpt} /
 * {@code .pth} read by the safe unpickler) into a model built from the original inference config,
 * strictly by key:
 *
 * <ul>
 *   <li>SD 1.x files ({@code model.diffusion_model.*}, {@code first_stage_model.*}, {@code
 *       cond_stage_model.transformer.*}) load into ldm's {@code v1-inference.yaml} as they are;
 *   <li>SD 2.x files ({@code cond_stage_model.model.*}) load into sgm's {@code sd_2_1.yaml} /
 *       {@code sd_2_1_768.yaml}: the documented remap {@code cond_stage_model.} to {@code
 *       conditioner.embedders.0.} (the same remap puts an SD 1.x file into an sgm config with one
 *       {@code FrozenCLIPEmbedder});
 *   <li>SDXL base / refiner files ({@code conditioner.embedders.N.*}) load into {@code
 *       sd_xl_base.yaml} / {@code sd_xl_refiner.yaml} as they are.
 * </ul>
 *
 * <p>Tolerated differences, each logged: the schedule buffers of ldm's DDPM ({@code betas}, {@code
 * alphas_cumprod}, ...) and the denoiser's {@code sigmas} are derived from the config, so a file may
 * lack them, and they are dropped when the model has no such buffer; EMA shadows ({@code
 * model_ema.*}) are dropped when the model keeps no EMA (the file's plain weights are used, as ldm
 * does with {@code use_ema: false}); a missing CLIP {@code position_ids} buffer (some SD 1.x files)
 * is filled with {@code arange(77)} as HF transformers does; schedule buffers stored in fp16 / bf16
 * (half-precision files) are not loaded, the config's exact float32 values are kept. Anything else missing or unexpected is
 * a {@link CheckpointException} naming the keys, and a checkpoint whose marker keys belong to
 * another family than the config's ({@link ModelFamily}) is refused before any key is compared,
 * with the config that fits it. fp16 and bf16 tensors are converted to the model's dtype as they
 * load.
 */
public final class SingleFileCheckpoint {

    private static final Logger LOG = LoggerFactory.getLogger(SingleFileCheckpoint.class);

    /** ldm DDPM buffers derived from the schedule in the config. */
    static final Set<String> DERIVED_BUFFERS = Set.of("betas", "alphas_cumprod", "alphas_cumprod_prev",
            "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
            "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
            "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
            "denoiser.sigmas", "denoiser.log_sigmas", "model_ema.decay", "model_ema.num_updates");

    /** Tensors read and copied per step while loading. */
    private static final int LOAD_CHUNK = 32;

    private SingleFileCheckpoint() {}

    /**
     * What a load did.
     *
     * @param checkpointFamily the family the checkpoint's keys belong to
     * @param modelFamily the family the config builds
     * @param loaded the number of tensors loaded
     * @param remapped how many keys were renamed ({@code cond_stage_model.} to {@code
     *     conditioner.embedders.0.})
     * @param dropped keys of the file that were not loaded (derived buffers, EMA shadows)
     * @param derived keys of the model kept at their config-derived or filled values
     */
    public record Report(ModelFamily checkpointFamily, ModelFamily modelFamily, int loaded, int remapped,
            List<String> dropped, List<String> derived) {}

    /**
     * Loads {@code checkpoint} into {@code model} strictly (see the class comment). Every loaded
     * tensor replaces the model's array; {@link #initializeAndLoad} avoids holding both.
     *
     * @param checkpoint the single-file checkpoint
     * @param model the model built from the inference config (a {@code DiffusionEngine} or ldm
     *     {@code LatentDiffusion}), already allocated
     * @return what was loaded, remapped, dropped and derived
     * @throws CheckpointException naming the file and the keys when the file is missing, of another
     *     family than the config, or its keys or shapes do not match
     */
    public static Report load(Path checkpoint, Module model) {
        return load(checkpoint, model, null, null);
    }

    /**
     * Allocates {@code model} and loads {@code checkpoint} into it strictly (see the class comment),
     * checking the file against the model before a single weight is allocated. Only the tensors the
     * file does not provide (the config-derived schedule buffers, {@code position_ids}) are
     * initialised; the others are created straight from the file, so the peak is the model plus
     * one chunk of tensors, never the model twice ({@link Module#initialize(NDManager, NoiseSource,
     * Set)}).
     *
     * @param checkpoint the single-file checkpoint
     * @param model the model built from the inference config, not yet allocated
     * @param manager the manager that will own the model's arrays
     * @param noise the source of the initialisers of the tensors the file does not provide
     * @return what was loaded, remapped, dropped and derived
     * @throws CheckpointException naming the file and the keys when the file is missing, of another
     *     family than the config, or its keys or shapes do not match (nothing is allocated then)
     */
    public static Report initializeAndLoad(Path checkpoint, Module model, NDManager manager, NoiseSource noise) {
        return load(checkpoint, model, java.util.Objects.requireNonNull(manager, "manager"),
                java.util.Objects.requireNonNull(noise, "noise"));
    }

    private static Report load(Path checkpoint, Module model, NDManager manager, NoiseSource noise) {
        if (!Files.isRegularFile(checkpoint)) {
            throw new CheckpointException(checkpoint, List.of(), "checkpoint " + checkpoint + " does not exist or is not a file");
        }
        Map<String, Parameter> slots = model.stateDictEntries();
        Set<String> modelKeys = slots.keySet();
        try (StateDictFile f = StateDicts.open(checkpoint)) {
            Plan plan = plan(f.keys(), k -> f.info(k).dtype(), modelKeys);
            ModelFamily fileFamily = plan.fileFamily();
            ModelFamily modelFamily = plan.modelFamily();
            if (!fileFamily.loadsInto(modelFamily)) {
                throw new CheckpointException(checkpoint, List.of(), "checkpoint " + checkpoint.getFileName()
                        + " holds " + fileFamily.label() + " weights, but the config builds " + modelFamily.label()
                        + ": use " + fileFamily.config() + " for this checkpoint");
            }
            List<String> missing = plan.missing();
            List<String> unexpected = plan.unexpected();
            if (!missing.isEmpty() || !unexpected.isEmpty()) {
                List<String> keys = new ArrayList<>(missing);
                keys.addAll(unexpected);
                throw new CheckpointException(checkpoint, keys, "checkpoint " + checkpoint.getFileName() + " ("
                        + fileFamily.label() + ") does not match the config's model (" + modelFamily.label() + "): "
                        + (missing.isEmpty() ? "" : missing.size() + " missing key(s) " + head(missing))
                        + (missing.isEmpty() || unexpected.isEmpty() ? "" : "; ")
                        + (unexpected.isEmpty() ? "" : unexpected.size() + " unexpected key(s) " + head(unexpected))
                        + (modelFamily == ModelFamily.UNKNOWN ? "" : "; the config for " + fileFamily.label()
                                + " checkpoints is " + fileFamily.config()));
            }
            Map<String, String> shapes = shapeMismatches(f, plan, k -> slots.get(k).getShape());
            if (!shapes.isEmpty()) {
                throw new CheckpointException(checkpoint, List.copyOf(shapes.keySet()), "checkpoint "
                        + checkpoint.getFileName() + " (" + fileFamily.label() + ") has " + shapes.size()
                        + " tensor(s) of another shape than the config's model: " + head(List.copyOf(shapes.values())));
            }
            if (manager != null) {
                model.initialize(manager, noise, new java.util.HashSet<>(plan.fileToModel().values()));
            }
            try (NDManager tmp = model.getManager().newSubManager()) {
                return copy(checkpoint, f, plan, model, slots, tmp);
            }
        }
    }

    private static Report copy(Path checkpoint, StateDictFile f, Plan plan, Module model, Map<String, Parameter> slots,
            NDManager tmp) {
        Map<String, String> fileToModel = plan.fileToModel();
        List<String> dropped = plan.dropped();
        List<String> derived = plan.derived();
        int remapped = plan.remapped();
        ModelFamily fileFamily = plan.fileFamily();
        ModelFamily modelFamily = plan.modelFamily();
        // a few tensors at a time: the peak is the model plus one chunk of the file
        List<Map.Entry<String, String>> entries = new ArrayList<>(fileToModel.entrySet());
        for (int i = 0; i < entries.size(); i += LOAD_CHUNK) {
            try (NDManager chunk = tmp.newSubManager()) {
                Map<String, NDArray> sd = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : entries.subList(i, Math.min(entries.size(), i + LOAD_CHUNK))) {
                    sd.put(e.getValue(), f.load(e.getKey(), chunk));
                }
                model.loadStateDict(sd, false);
            }
        }
        for (String k : derived) {
            if (k.endsWith("embeddings.position_ids")) {
                Shape s = slots.get(k).getShape();
                long len = s.get(s.dimension() - 1);
                long[] ids = new long[(int) s.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i % len;
                }
                try (NDArray a = Tensors.create(tmp, ids, s)) {
                    model.loadStateDict(Map.of(k, a), false);
                }
                LOG.info("{}: '{}' is missing; filled with arange({}) as HF transformers does",
                        checkpoint.getFileName(), k, len);
            }
        }
        if (remapped > 0) {
            LOG.info("{}: renamed {} key(s) cond_stage_model.* to conditioner.embedders.0.*",
                    checkpoint.getFileName(), remapped);
        }
        if (!dropped.isEmpty()) {
            LOG.info("{}: not loaded ({} derived from the config or EMA shadows of a model without EMA): {}",
                    checkpoint.getFileName(), dropped.size(), head(dropped));
        }
        return new Report(fileFamily, modelFamily, fileToModel.size(), remapped, List.copyOf(dropped),
                List.copyOf(derived));
    }

    /**
     * How the keys of a file map onto a model's.
     *
     * @param fileFamily the file's family
     * @param modelFamily the model's family
     * @param fileToModel file key to model key, for the tensors to load
     * @param dropped file keys not loaded (derived buffers, half-precision schedules, EMA shadows)
     * @param derived model keys kept at their config-derived values (or filled: {@code position_ids})
     * @param missing model keys the file lacks (an error)
     * @param unexpected file keys the model lacks (an error)
     * @param remapped how many file keys were renamed
     */
    record Plan(ModelFamily fileFamily, ModelFamily modelFamily, Map<String, String> fileToModel, List<String> dropped,
            List<String> derived, List<String> missing, List<String> unexpected, int remapped) {}

    /**
     * Matches a file's keys against a model's (see the class comment), without reading tensors.
     *
     * @param fileKeys the file's keys
     * @param dtypeOf the stored dtype code ({@code F32}, {@code F16}, ...) of a file key
     * @param modelKeys the model's state-dict keys
     * @return the plan
     */
    static Plan plan(List<String> fileKeys, java.util.function.Function<String, String> dtypeOf, Set<String> modelKeys) {
        ModelFamily modelFamily = ModelFamily.detect(modelKeys);
        ModelFamily fileFamily = ModelFamily.detect(new java.util.HashSet<>(fileKeys));
        boolean remap = modelKeys.stream().noneMatch(k -> k.startsWith("cond_stage_model."))
                && modelKeys.stream().anyMatch(k -> k.startsWith("conditioner.embedders.0."));
        boolean hasEma = modelKeys.stream().anyMatch(k -> k.startsWith("model_ema."));
        Map<String, String> fileToModel = new LinkedHashMap<>();
        List<String> dropped = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        int remapped = 0;
        for (String k : fileKeys) {
            String target = k;
            if (remap && k.startsWith("cond_stage_model.")) {
                target = "conditioner.embedders.0." + k.substring("cond_stage_model.".length());
                remapped++;
            }
            boolean halfSchedule = DERIVED_BUFFERS.contains(target) && isHalf(dtypeOf.apply(k));
            if (modelKeys.contains(target) && !halfSchedule) {
                fileToModel.put(k, target);
            } else if (halfSchedule || DERIVED_BUFFERS.contains(target) || (!hasEma && target.startsWith("model_ema."))) {
                dropped.add(k);
            } else {
                unexpected.add(k);
            }
        }
        Set<String> loaded = new java.util.HashSet<>(fileToModel.values());
        List<String> missing = new ArrayList<>();
        List<String> derived = new ArrayList<>();
        for (String k : modelKeys) {
            if (loaded.contains(k)) {
                continue;
            }
            if (DERIVED_BUFFERS.contains(k) || k.endsWith("embeddings.position_ids")) {
                derived.add(k);
            } else {
                missing.add(k);
            }
        }
        return new Plan(fileFamily, modelFamily, fileToModel, dropped, derived, missing, unexpected, remapped);
    }

    /**
     * What {@link #load} would do with a file and a model, read from the file's header and the
     * model's construction-time shapes only (no tensor is read or allocated): {@code sgm4j inspect
     * --config}.
     *
     * @param checkpointFamily the family the file's keys belong to
     * @param modelFamily the family the config builds
     * @param familiesFit whether a file of {@code checkpointFamily} may load into {@code modelFamily}
     * @param loaded file key to model key, for the tensors a load copies
     * @param remapped how many of them are renamed ({@code cond_stage_model.} to {@code
     *     conditioner.embedders.0.})
     * @param missing model keys the file lacks (a load fails)
     * @param unexpected file keys the model has no place for (a load fails)
     * @param shapeMismatches loaded keys whose shapes differ, as {@code key: config [..], checkpoint
     *     [..]} (a load fails)
     * @param dropped file keys a load skips, tolerated (schedule buffers derived from the config,
     *     half-precision schedules, EMA shadows of a model without EMA)
     * @param derived model keys a load keeps at their config values or fills ({@code position_ids})
     * @param converted loaded file keys stored in another dtype than the model's, as {@code file key
     *     -> "F16 -> F32"} (converted as they load)
     */
    public record Inspection(ModelFamily checkpointFamily, ModelFamily modelFamily, boolean familiesFit,
            Map<String, String> loaded, int remapped, List<String> missing, List<String> unexpected,
            List<String> shapeMismatches, List<String> dropped, List<String> derived, Map<String, String> converted) {

        /**
         * Whether {@link SingleFileCheckpoint#load} would accept the file.
         *
         * @return true when the families fit and no key is missing, unexpected or of another shape
         */
        public boolean loads() {
            return familiesFit && missing.isEmpty() && unexpected.isEmpty() && shapeMismatches.isEmpty();
        }
    }

    /**
     * Matches an open checkpoint against a model's state-dict listing as {@link #load} would, without
     * reading a tensor.
     *
     * @param file the open checkpoint
     * @param model the model's {@link Module#stateDictSpec()} (a model built from the config, not
     *     necessarily allocated)
     * @return the inspection
     */
    public static Inspection inspect(StateDictFile file, List<TensorSpec> model) {
        Map<String, TensorSpec> specs = new LinkedHashMap<>();
        for (TensorSpec s : model) {
            specs.put(s.key(), s);
        }
        Plan plan = plan(file.keys(), k -> file.info(k).dtype(), specs.keySet());
        List<String> shapes = List.copyOf(shapeMismatches(file, plan, k -> specs.get(k).shape()).values());
        Map<String, String> converted = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : plan.fileToModel().entrySet()) {
            TensorSpec s = specs.get(e.getValue());
            String code = file.info(e.getKey()).dtype();
            String want = dtypeCode(s.dataType());
            if (!code.equals(want)) {
                converted.put(e.getKey(), code + " -> " + want);
            }
        }
        return new Inspection(plan.fileFamily(), plan.modelFamily(), plan.fileFamily().loadsInto(plan.modelFamily()),
                plan.fileToModel(), plan.remapped(), plan.missing(), plan.unexpected(), shapes, plan.dropped(),
                plan.derived(), converted);
    }

    /**
     * The loaded keys whose stored shape differs from the model's, as file key to {@code key: config
     * [..], checkpoint [..]}, read from the file's header only.
     */
    private static Map<String, String> shapeMismatches(StateDictFile file, Plan plan,
            java.util.function.Function<String, Shape> modelShape) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : plan.fileToModel().entrySet()) {
            long[] stored = file.info(e.getKey()).shape();
            Shape want = modelShape.apply(e.getValue());
            if (!java.util.Arrays.equals(stored, want.getShape())) {
                out.put(e.getKey(), e.getKey() + ": config " + want + ", checkpoint " + java.util.Arrays.toString(stored));
            }
        }
        return out;
    }

    /** The safetensors code of a model dtype (as {@link io.github.sgm4j.io.TensorInfo#dtype()} names stored ones). */
    private static String dtypeCode(DataType t) {
        return switch (t) {
            case FLOAT64 -> "F64";
            case FLOAT32 -> "F32";
            case FLOAT16 -> "F16";
            case BFLOAT16 -> "BF16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT16 -> "I16";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> t.name();
        };
    }

    private static boolean isHalf(String dtype) {
        return dtype.equals("F16") || dtype.equals("BF16");
    }

    private static String head(List<String> keys) {
        return keys.size() <= 8 ? keys.toString() : keys.subList(0, 8) + " ...";
    }
}
