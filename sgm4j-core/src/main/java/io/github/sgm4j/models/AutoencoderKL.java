package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.modules.autoencoding.regularizers.DiagonalGaussianRegularizer;
import io.github.sgm4j.modules.diffusionmodules.model.DDConfig;
import io.github.sgm4j.modules.diffusionmodules.model.Decoder;
import io.github.sgm4j.modules.diffusionmodules.model.Encoder;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.BatchChunks;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.LoadResult;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port of {@code sgm.models.autoencoder.AutoencoderKL} / {@code AutoencodingEngineLegacy} (and of
 * ldm's {@code ldm.models.autoencoder.AutoencoderKL}, same keys): {@code encoder → quant_conv →}
 * diagonal Gaussian posterior, {@code post_quant_conv → decoder}. Keys are those of the SD VAE
 * checkpoints ({@code encoder.*}, {@code decoder.*}, {@code quant_conv.*}, {@code
 * post_quant_conv.*}). With sgm's {@code AutoencodingEngine} target (separate {@code
 * encoder_config}/{@code decoder_config}) there are no quant convs.
 *
 * <p>Large inputs: {@link #setMaxBatchSize} ({@code max_batch_size}) processes a batch in chunks,
 * and {@link #setTiling} (opt-in) encodes/decodes overlapping spatial tiles blended with linear
 * ramps, bounding memory by the tile size.
 *
 * <p>Arrays: every method returning an {@link NDArray} returns a new array the caller closes
 * (closing the manager of the input frees it too); inputs are never closed.
 *
 * <p>Size: one file because it is one sgm class (config, encode, decode, batch chunks and tiling
 * share the same fields and checkpoint keys); splitting it would scatter a single port.
 */
public class AutoencoderKL extends Module implements FirstStage {

    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderKL.class);
    private static final AtomicBoolean LOSS_LOGGED = new AtomicBoolean();

    /**
     * Tiled processing (opt-in).
     *
     * @param latentTile tile size in latent pixels (decode; encode uses it times the downsampling factor)
     * @param latentOverlap overlap between neighbouring tiles in latent pixels
     */
    public record Tiling(int latentTile, int latentOverlap) {
        /**
         * Validates the tile geometry.
         *
         * @param latentTile tile size in latent pixels (at least 1)
         * @param latentOverlap overlap in latent pixels ({@code 0 <= overlap < tile})
         * @throws IllegalArgumentException when the tile is below 1 or the overlap is out of range
         */
        public Tiling {
            if (latentTile < 1 || latentOverlap < 0 || latentOverlap >= latentTile) {
                throw new IllegalArgumentException("tiling needs tile >= 1 and 0 <= overlap < tile, got tile "
                        + latentTile + ", overlap " + latentOverlap);
            }
        }
    }

    private final DDConfig dd;
    private final int embedDim;
    private final Module encoder;
    private final Decoder decoder;
    private final Conv2d quantConv;
    private final Conv2d postQuantConv;
    private final DiagonalGaussianRegularizer regularizer;
    private final String ckptPath;
    private List<String> ignoreKeys = List.of();
    private Integer maxBatchSize;
    private Tiling tiling;

    /**
     * Builds sgm's {@code AutoencoderKL} / {@code AutoencodingEngineLegacy}: a fresh {@link Encoder}
     * and {@link Decoder} from {@code dd} (tensors are allocated by {@link #initialize}).
     *
     * @param dd the encoder/decoder ddconfig
     * @param embedDim latent channels after {@code quant_conv}
     * @param quantConvs whether the legacy {@code quant_conv}/{@code post_quant_conv} exist
     * @param regularizer the posterior regularizer
     * @param ckptPath checkpoint loaded by {@link #initialize}, or null
     * @throws IllegalArgumentException when {@code quantConvs} is set and {@code dd} has no {@code
     *     double_z}
     */
    public AutoencoderKL(DDConfig dd, int embedDim, boolean quantConvs, DiagonalGaussianRegularizer regularizer,
            String ckptPath) {
        this(new Encoder(dd), new Decoder(dd), dd, embedDim, quantConvs, regularizer, ckptPath);
    }

    /**
     * With built encoder and decoder (sgm's AutoencodingEngine: the encoder may be any single-input
     * module, e.g. {@code torch.nn.Identity} for decoder-only video autoencoders). The modules are
     * registered as children {@code encoder} and {@code decoder}; the autoencoder is left in eval
     * mode.
     *
     * @param encoder the encoder, a single-input module ({@link io.github.sgm4j.nn.UnaryModule})
     * @param decoder the decoder
     * @param dd the encoder/decoder ddconfig (channels and downsampling factor)
     * @param embedDim latent channels after {@code quant_conv}
     * @param quantConvs whether the legacy {@code quant_conv}/{@code post_quant_conv} exist
     * @param regularizer the posterior regularizer
     * @param ckptPath checkpoint loaded by {@link #initialize}, or null
     * @throws IllegalArgumentException when {@code quantConvs} is set without {@code double_z}, or
     *     the encoder is not a single-input module
     */
    public AutoencoderKL(Module encoder, Decoder decoder, DDConfig dd, int embedDim, boolean quantConvs,
            DiagonalGaussianRegularizer regularizer, String ckptPath) {
        if (quantConvs && !dd.doubleZ()) {
            throw new IllegalArgumentException("AutoencoderKL needs double_z: true (the Gaussian posterior)");
        }
        if (!(encoder instanceof io.github.sgm4j.nn.UnaryModule)) {
            throw new IllegalArgumentException("encoder " + encoder.getClass().getSimpleName() + " is not a single-input module");
        }
        this.dd = dd;
        this.embedDim = embedDim;
        this.encoder = register("encoder", encoder);
        this.decoder = register("decoder", decoder);
        int zMult = dd.doubleZ() ? 2 : 1;
        this.quantConv = quantConvs ? register("quant_conv", new Conv2d(zMult * dd.zChannels(), zMult * embedDim, 1, 1, 0)) : null;
        this.postQuantConv = quantConvs ? register("post_quant_conv", new Conv2d(embedDim, dd.zChannels(), 1, 1, 0)) : null;
        this.regularizer = regularizer;
        this.ckptPath = ckptPath;
        eval();
    }

    /**
     * Builds from {@code sgm.models.autoencoder.AutoencoderKL} / {@code AutoencodingEngineLegacy} /
     * {@code AutoencodingEngine} or {@code ldm.models.autoencoder.AutoencoderKL} params. Training-only
     * parameters (losses, optimizers, discriminator schedule, monitor) are accepted and not built.
     *
     * @param p the {@code params} node ({@code ddconfig} and {@code embed_dim}, or {@code
     *     encoder_config}/{@code decoder_config}/{@code regularizer_config}; optional {@code
     *     ckpt_path}, {@code ignore_keys}, {@code max_batch_size}, {@code colorize_nlabels})
     * @param inst the instantiator for the nested configs
     * @return the autoencoder, tensors not yet allocated
     * @throws ConfigException when a required key is missing or invalid, or {@code ckpt_engine} is
     *     set
     */
    public static AutoencoderKL fromConfig(ConfigNode p, Instantiator inst) {
        String target = inst.currentTarget() == null ? "" : inst.currentTarget();
        List<String> trainingOnly = List.of("loss_config", "lossconfig", "optimizer_config", "lr_g_factor",
                "trainable_ae_params", "ae_optimizer_args", "trainable_disc_params", "disc_optimizer_args",
                "disc_start_iter", "diff_boost_factor", "monitor", "input_key", "image_key",
                "additional_decode_keys", "ema_decay", "scheduler_config");
        boolean hasTrainingOnly = trainingOnly.stream().anyMatch(p::has);
        p.ignore(trainingOnly.toArray(new String[0]));
        if (hasTrainingOnly && LOSS_LOGGED.compareAndSet(false, true)) {
            LOG.info("{}: training-only parameters (loss/lossconfig, optimizers, monitor) are accepted and not built "
                    + "for inference", target);
        }
        p.ignore("colorize_nlabels", "ignore_keys");
        Integer colorizeNlabels = p.isNull("colorize_nlabels") ? null : p.getInt("colorize_nlabels");
        List<String> ignoreKeys = p.getStringList("ignore_keys", List.of());
        String ckpt = p.getString("ckpt_path", null);
        if (p.has("ckpt_engine") && !p.isNull("ckpt_engine")) {
            throw new ConfigException(p.pathOf("ckpt_engine"), "ckpt_engine is not supported; use ckpt_path");
        }
        p.ignore("ckpt_engine");
        Integer maxBatch = p.isNull("max_batch_size") ? null : p.getInt("max_batch_size");
        AutoencoderKL ae;
        if (p.has("encoder_config")) {
            // sgm AutoencodingEngine: encoder/decoder/regularizer configs, no quant convs
            Module enc = inst.instantiate(p.getNode("encoder_config"), Module.class);
            Decoder dec = inst.instantiate(p.getNode("decoder_config"), Decoder.class);
            DiagonalGaussianRegularizer reg = inst.instantiate(p.getNode("regularizer_config"), DiagonalGaussianRegularizer.class);
            DDConfig dd = dec.getConfig();
            ae = new AutoencoderKL(enc, dec, dd, dd.zChannels(), false, reg, ckpt);
        } else {
            DDConfig dd = DDConfig.fromConfig(p.getNode("ddconfig"));
            ae = new AutoencoderKL(dd, p.getInt("embed_dim"), true, new DiagonalGaussianRegularizer(true), ckpt);
        }
        ae.maxBatchSize = maxBatch;
        ae.ignoreKeys = List.copyOf(ignoreKeys);
        if (colorizeNlabels != null) {
            ae.registerColorize(colorizeNlabels);
        }
        return ae;
    }

    /**
     * ldm's {@code colorize_nlabels}: the persistent buffer {@code colorize} [3, n, 1, 1] (drawn with
     * {@code randn} at initialisation, part of the checkpoint; used by ldm only to render
     * segmentation maps in its image logger).
     */
    private void registerColorize(int nlabels) {
        if (nlabels < 1) {
            throw new IllegalArgumentException("colorize_nlabels must be >= 1, got " + nlabels);
        }
        buffer("colorize", new Shape(3, nlabels, 1, 1), ai.djl.ndarray.types.DataType.FLOAT32,
                io.github.sgm4j.nn.Init.normal(1.0), true);
    }

    /**
     * The encoder/decoder configuration.
     *
     * @return the ddconfig
     */
    public DDConfig getDDConfig() {
        return dd;
    }

    /**
     * The ddconfig as a plain map (sgm keys), e.g. to build a twin of this autoencoder from config.
     *
     * @return a new mutable map from sgm ddconfig keys ({@code z_channels}, {@code ch_mult}, ...) to
     *     their values, in sgm's order
     */
    public Map<String, Object> getDDConfigMap() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("double_z", dd.doubleZ());
        m.put("z_channels", dd.zChannels());
        m.put("resolution", dd.resolution());
        m.put("in_channels", dd.inChannels());
        m.put("out_ch", dd.outCh());
        m.put("ch", dd.ch());
        m.put("ch_mult", dd.chMult());
        m.put("num_res_blocks", dd.numResBlocks());
        m.put("attn_resolutions", dd.attnResolutions());
        m.put("dropout", dd.dropout());
        m.put("attn_type", dd.attnType());
        return m;
    }

    /**
     * Latent channels.
     *
     * @return {@code embed_dim}, the channel count of the latents {@link #encode} returns
     */
    public int getEmbedDim() {
        return embedDim;
    }

    /**
     * The encoder module ({@link Encoder}, or e.g. an Identity for decoder-only autoencoders).
     *
     * @return the registered child {@code encoder}
     */
    public Module getEncoder() {
        return encoder;
    }

    /**
     * The decoder.
     *
     * @return the registered child {@code decoder}
     */
    public Decoder getDecoder() {
        return decoder;
    }

    /**
     * {@code max_batch_size}: batches are encoded/decoded in chunks of this size (null: whole batch).
     *
     * @param maxBatchSize the chunk size (at least 1), or null for the whole batch
     * @throws IllegalArgumentException when {@code maxBatchSize} is below 1
     */
    public void setMaxBatchSize(Integer maxBatchSize) {
        if (maxBatchSize != null && maxBatchSize < 1) {
            throw new IllegalArgumentException("max_batch_size must be >= 1, got " + maxBatchSize);
        }
        this.maxBatchSize = maxBatchSize;
    }

    /**
     * Turns tiled encode/decode on ({@code null}: off, the default).
     *
     * @param tiling the tile geometry, or null for whole-image encode/decode
     */
    public void setTiling(Tiling tiling) {
        this.tiling = tiling;
    }

    /**
     * Sets the attention query-chunking threshold of encoder and decoder (an encoder that is not an
     * {@link Encoder} is left alone).
     *
     * @param n the largest attention score matrix, in elements, computed in one piece
     */
    public void setMaxScoreElements(long n) {
        if (encoder instanceof Encoder e) {
            e.setMaxScoreElements(n);
        }
        decoder.setMaxScoreElements(n);
    }

    /**
     * Loads {@code ckpt_path} when configured (non-strict, keys reported), also when this autoencoder
     * is the first stage inside a diffusion model ({@link #initialize} of the whole tree calls this).
     *
     * @throws CheckpointException when the file shares no key with this
     *     autoencoder (another architecture or a prefixed state dict: never a silent half-load)
     */
    @Override
    protected void loadPretrained() {
        if (ckptPath == null) {
            return;
        }
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> sd = new java.util.LinkedHashMap<>(StateDicts.readAll(Path.of(ckptPath), getManager()));
            // ldm init_from_ckpt: keys starting with an ignore_keys entry are deleted first
            sd.keySet().removeIf(k -> ignoreKeys.stream().anyMatch(k::startsWith));
            int own = stateDictEntries().size();
            LoadResult r = loadStateDict(sd, false);
            if (r.missingKeys().size() == own) {
                throw new CheckpointException(Path.of(ckptPath), List.of(), "ckpt_path " + ckptPath
                        + " shares no key with the autoencoder (" + sd.size() + " keys, e.g. "
                        + sd.keySet().stream().limit(3).toList() + "; expected keys like "
                        + stateDictKeys().iterator().next() + ")");
            }
            LOG.info("Restored from {}: {}", ckptPath, r.describe());
        }
    }

    /**
     * Loads a training checkpoint's weights for inference: the loss's keys ({@code loss.*}: the
     * discriminator, LPIPS, {@code logvar}) are dropped with one log line, every other key must match
     * exactly.
     *
     * @param stateDict the checkpoint's tensors by reference key
     * @return the load result (clean)
     * @throws io.github.sgm4j.nn.StateDictException when a non-loss key is missing, unexpected or of
     *     the wrong shape
     */
    public LoadResult loadInferenceWeights(Map<String, NDArray> stateDict) {
        Map<String, NDArray> sd = new java.util.LinkedHashMap<>(stateDict);
        int before = sd.size();
        sd.keySet().removeIf(k -> k.startsWith("loss."));
        if (sd.size() != before) {
            LOG.info("ignored {} training-only loss.* keys (discriminator, LPIPS, logvar) for inference",
                    before - sd.size());
        }
        return loadStateDict(sd, true);
    }

    // ------------------------------------------------------------------ encode

    /**
     * {@code quant_conv(encoder(x))}: the posterior moments {@code [B, 2 * embed_dim, h, w]} (mean
     * and log-variance along channels), in chunks of {@code max_batch_size} and tiles when set.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @return the moments, {@code h = H / f}, {@code w = W / f}; a new array the caller closes
     */
    public NDArray moments(NDArray x) {
        return chunks(x, this::momentsOne);
    }

    private NDArray momentsOne(NDArray x) {
        if (tiling != null) {
            return tiledEncode(x);
        }
        return momentsPlain(x);
    }

    private NDArray momentsPlain(NDArray x) {
        NDArray h = ((io.github.sgm4j.nn.UnaryModule) encoder).forward(x);
        if (quantConv == null) {
            return h;
        }
        try (h) {
            return quantConv.forward(h);
        }
    }

    /**
     * The posterior {@code DiagonalGaussianDistribution(moments(x))} (close it when done).
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @return the posterior, which the caller closes; the moments it is built from are not closed
     *     with it and go with the manager of {@code x}
     */
    public DiagonalGaussianDistribution posterior(NDArray x) {
        return new DiagonalGaussianDistribution(moments(x));
    }

    /**
     * {@code encode(x, return_reg_log=True)}: the sampled latent and {@code kl_loss}.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param noise the source of the posterior sample's {@code randn}
     * @return the latent {@code [B, embed_dim, H / f, W / f]} and the 0-d KL loss, new arrays the
     *     caller closes
     */
    public DiagonalGaussianRegularizer.Result encodeWithLog(NDArray x, NoiseSource noise) {
        try (NDArray m = moments(x)) {
            return regularizer.apply(m, noise);
        }
    }

    /**
     * {@code encode(x)}: the regularized (sampled) latent; the KL loss is discarded.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param noise the source of the posterior sample's {@code randn}
     * @return the latent {@code [B, embed_dim, H / f, W / f]}, a new array the caller closes
     */
    @Override
    public NDArray encode(NDArray x, NoiseSource noise) {
        DiagonalGaussianRegularizer.Result r = encodeWithLog(x, noise);
        r.klLoss().close();
        return r.z();
    }

    // ------------------------------------------------------------------ decode

    /**
     * {@code decode(z)}: {@code decoder(post_quant_conv(z))}, in chunks of {@code max_batch_size}
     * and tiles when set.
     *
     * @param z latents {@code [B, embed_dim, h, w]}
     * @return images {@code [B, out_ch, h * f, w * f]}, a new array the caller closes
     * @throws IllegalArgumentException when {@code z} is not 4-d with {@code embed_dim} channels
     */
    @Override
    public NDArray decode(NDArray z) {
        Shape s = z.getShape();
        if (s.dimension() != 4 || s.get(1) != embedDim) {
            throw new IllegalArgumentException("AutoencoderKL.decode expects latents [B, " + embedDim + ", h, w], got " + s);
        }
        return chunks(z, tiling != null ? this::tiledDecode : this::decodePlain);
    }

    /**
     * {@code decode(z)} without chunks or tiles, also returning the input of the decoder's {@code
     * conv_out} (training: the adaptive weight's gradients with respect to {@code conv_out.weight}).
     *
     * @param z latents {@code [B, embed_dim, h, w]}
     * @return {the input of conv_out, the images}: new arrays the caller closes
     * @throws IllegalStateException when the decoder has {@code give_pre_end} or {@code tanh_out}
     */
    public NDList decodeWithConvOutInput(NDArray z) {
        if (postQuantConv == null) {
            return decoder.forwardWithConvOutInput(z);
        }
        try (NDArray h = postQuantConv.forward(z)) {
            return decoder.forwardWithConvOutInput(h);
        }
    }

    private NDArray decodePlain(NDArray z) {
        if (postQuantConv == null) {
            return decoder.forward(z);
        }
        try (NDArray h = postQuantConv.forward(z)) {
            return decoder.forward(h);
        }
    }

    /**
     * {@code forward(x, sample_posterior)}: encode (a sample, or the mode, as the regularizer is
     * configured) then decode.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param noise the source of the posterior sample's {@code randn}
     * @return {z, reconstruction, kl_loss}: new arrays the caller closes
     */
    public NDList forward(NDArray x, NoiseSource noise) {
        DiagonalGaussianRegularizer.Result r = encodeWithLog(x, noise);
        NDArray dec = decode(r.z());
        return new NDList(r.z(), dec, r.klLoss());
    }

    /**
     * ldm's {@code forward(input, sample_posterior)}: the posterior's sample ({@code randn} from
     * {@code noise}) or its mode, decoded.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param samplePosterior true to decode a posterior sample, false for its mode (the mean)
     * @param noise the source of the sample's {@code randn} (unused for the mode)
     * @return {z, reconstruction, kl_loss}: new arrays the caller closes
     */
    public NDList forward(NDArray x, boolean samplePosterior, NoiseSource noise) {
        DiagonalGaussianRegularizer.Result r;
        try (NDArray m = moments(x)) {
            r = new DiagonalGaussianRegularizer(samplePosterior).apply(m, noise);
        }
        NDArray dec = decode(r.z());
        return new NDList(r.z(), dec, r.klLoss());
    }

    /**
     * sgm DiffusionEngine's {@code encode_first_stage} loop without the scale factor: {@link
     * #encode} applied to consecutive slices of {@code n} samples ({@code en_and_decode_n_samples_a_time};
     * null: the whole batch), concatenated. Each slice draws its own posterior noise, in slice
     * order, as the reference does.
     *
     * @param x images {@code [B, C, H, W]} in {@code [-1, 1]}
     * @param n the slice size, or null for the whole batch
     * @param noise the source of the posterior samples' {@code randn}
     * @return the latents {@code [B, embed_dim, H / f, W / f]}, a new array the caller closes
     */
    public NDArray encodeNSamplesAtATime(NDArray x, Integer n, NoiseSource noise) {
        return BatchChunks.apply(x, n, part -> encode(part, noise));
    }

    /**
     * sgm DiffusionEngine's {@code decode_first_stage} loop without the scale factor: {@link
     * #decode} of consecutive slices of {@code n} latents (null: the whole batch), concatenated.
     *
     * @param z latents {@code [B, embed_dim, h, w]}
     * @param n the slice size, or null for the whole batch
     * @return images {@code [B, out_ch, h * f, w * f]}, a new array the caller closes
     * @throws IllegalArgumentException when {@code z} is not 4-d with {@code embed_dim} channels
     */
    public NDArray decodeNSamplesAtATime(NDArray z, Integer n) {
        return BatchChunks.apply(z, n, this::decode);
    }

    private NDArray chunks(NDArray x, java.util.function.UnaryOperator<NDArray> f) {
        return BatchChunks.apply(x, maxBatchSize, f);
    }

    // ------------------------------------------------------------------ tiling

    private NDArray tiledDecode(NDArray z) {
        int f = dd.downsamplingFactor();
        return tiled(z, tiling.latentTile(), tiling.latentOverlap(), f, dd.outCh(), this::decodePlain);
    }

    private NDArray tiledEncode(NDArray x) {
        int f = dd.downsamplingFactor();
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(2) % f != 0 || s.get(3) % f != 0) {
            // the same check the plain path makes (a tile could hide an uneven image size)
            throw new IllegalArgumentException("Encoder: image size " + (s.dimension() == 4 ? s.get(2) + "x" + s.get(3) : "?")
                    + " cannot be downsampled evenly by " + f + " (ch_mult " + dd.chMult() + "), got " + s);
        }
        long outC = quantConv == null ? (dd.doubleZ() ? 2L : 1L) * dd.zChannels() : 2L * embedDim;
        // image tiles of tile*f pixels with overlap*f, outputs at 1/f scale
        return tiledDown(x, tiling.latentTile() * f, tiling.latentOverlap() * f, f, outC, this::momentsPlain);
    }

    /** Tile starts covering [0, size) with tiles of {@code tile} and at least {@code overlap} overlap. */
    static int[] starts(int size, int tile, int overlap) {
        if (tile >= size) {
            return new int[] {0};
        }
        int stride = tile - overlap;
        int n = (int) Math.ceil((double) (size - tile) / stride) + 1;
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.min(i * stride, size - tile);
        }
        return s;
    }

    /** 1-D blend weights of a tile: linear ramps over the overlaps with its neighbours, 1 elsewhere. */
    static float[] ramp(int len, int overlapBefore, int overlapAfter) {
        float[] w = new float[len];
        for (int i = 0; i < len; i++) {
            float a = overlapBefore > 0 ? Math.min(1f, (i + 0.5f) / overlapBefore) : 1f;
            float b = overlapAfter > 0 ? Math.min(1f, (len - i - 0.5f) / overlapAfter) : 1f;
            w[i] = Math.min(a, b);
        }
        return w;
    }

    /** Up-scaling tiles (decode): input tiles of {@code tile} become output tiles of {@code tile * f}. */
    private NDArray tiled(NDArray in, int tile, int overlap, int f, long outC, java.util.function.UnaryOperator<NDArray> op) {
        long b = in.getShape().get(0);
        int h = (int) in.getShape().get(2);
        int w = (int) in.getShape().get(3);
        int[] ys = starts(h, tile, overlap);
        int[] xs = starts(w, tile, overlap);
        if (ys.length == 1 && xs.length == 1) {
            return op.apply(in);
        }
        return blend(in, ys, xs, Math.min(tile, h), Math.min(tile, w), f, true, outC, b, op);
    }

    /** Down-scaling tiles (encode): input tiles of {@code tile} pixels become {@code tile / f}. */
    private NDArray tiledDown(NDArray in, int tile, int overlap, int f, long outC, java.util.function.UnaryOperator<NDArray> op) {
        long b = in.getShape().get(0);
        int h = (int) in.getShape().get(2);
        int w = (int) in.getShape().get(3);
        int[] ys = align(starts(h, tile, overlap), f);
        int[] xs = align(starts(w, tile, overlap), f);
        if (ys.length == 1 && xs.length == 1) {
            return op.apply(in);
        }
        return blend(in, ys, xs, Math.min(tile, h), Math.min(tile, w), f, false, outC, b, op);
    }

    private static int[] align(int[] starts, int f) {
        int[] out = new int[starts.length];
        for (int i = 0; i < starts.length; i++) {
            out[i] = starts[i] / f * f;
        }
        return out;
    }

    private NDArray blend(NDArray in, int[] ys, int[] xs, int th, int tw, int f, boolean up, long outC, long b,
            java.util.function.UnaryOperator<NDArray> op) {
        NDManager m = in.getManager();
        int h = (int) in.getShape().get(2);
        int w = (int) in.getShape().get(3);
        int oh = up ? h * f : h / f;
        int ow = up ? w * f : w / f;
        NDArray acc = m.zeros(new Shape(b, outC, oh, ow), in.getDataType(), in.getDevice());
        NDArray wsum = m.zeros(new Shape(1, 1, oh, ow), in.getDataType(), in.getDevice());
        for (int iy = 0; iy < ys.length; iy++) {
            for (int ix = 0; ix < xs.length; ix++) {
                int y0 = ys[iy];
                int x0 = xs[ix];
                try (NDScope scope = new NDScope()) {
                    NDArray tileIn = in.get(":, :, " + y0 + ":" + (y0 + th) + ", " + x0 + ":" + (x0 + tw));
                    NDArray out = op.apply(tileIn);
                    int oth = (int) out.getShape().get(2);
                    int otw = (int) out.getShape().get(3);
                    int oy0 = up ? y0 * f : y0 / f;
                    int ox0 = up ? x0 * f : x0 / f;
                    int ovBefY = iy > 0 ? (up ? (ys[iy - 1] + th - y0) * f : (ys[iy - 1] + th - y0) / f) : 0;
                    int ovAftY = iy < ys.length - 1 ? (up ? (y0 + th - ys[iy + 1]) * f : (y0 + th - ys[iy + 1]) / f) : 0;
                    int ovBefX = ix > 0 ? (up ? (xs[ix - 1] + tw - x0) * f : (xs[ix - 1] + tw - x0) / f) : 0;
                    int ovAftX = ix < xs.length - 1 ? (up ? (x0 + tw - xs[ix + 1]) * f : (x0 + tw - xs[ix + 1]) / f) : 0;
                    float[] ry = ramp(oth, Math.max(0, ovBefY), Math.max(0, ovAftY));
                    float[] rx = ramp(otw, Math.max(0, ovBefX), Math.max(0, ovAftX));
                    NDArray wy = Tensors.create(m, ry).reshape(1, 1, oth, 1).toDevice(in.getDevice(), false);
                    NDArray wx = Tensors.create(m, rx).reshape(1, 1, 1, otw).toDevice(in.getDevice(), false);
                    NDArray wt = wy.mul(wx).toType(in.getDataType(), false);
                    String region = ":, :, " + oy0 + ":" + (oy0 + oth) + ", " + ox0 + ":" + (ox0 + otw);
                    NDArray cur = acc.get(region);
                    acc.set(new ai.djl.ndarray.index.NDIndex(region), cur.add(out.mul(wt)));
                    NDArray cw = wsum.get("0:1, 0:1, " + oy0 + ":" + (oy0 + oth) + ", " + ox0 + ":" + (ox0 + otw));
                    wsum.set(new ai.djl.ndarray.index.NDIndex("0:1, 0:1, " + oy0 + ":" + (oy0 + oth) + ", " + ox0 + ":"
                            + (ox0 + otw)), cw.add(wt));
                    scope.suppressNotUsedWarning();
                }
            }
        }
        try (acc; wsum) {
            return acc.div(wsum);
        }
    }
}
