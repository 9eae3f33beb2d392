package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.attention.SpatialTransformer;
import io.github.sgm4j.modules.diffusionmodules.util.DiffusionUtil;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Embedding;
import io.github.sgm4j.nn.GroupNorm32;
import io.github.sgm4j.nn.Identity;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.Sequential;
import io.github.sgm4j.nn.SiLU;
import io.github.sgm4j.nn.UnaryModule;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/**
 * Port of {@code sgm.modules.diffusionmodules.openaimodel.UNetModel} (and of CompVis ldm's, target
 * {@code ldm.modules.diffusionmodules.openaimodel.UNetModel}): the diffusion UNet with timestep
 * embedding, optional class/vector conditioning ({@code label_emb}), ResBlocks, spatial
 * transformers with cross-attention (or ldm's AttentionBlocks), and skip connections. Parameter
 * names are the reference's ({@code time_embed.0.weight}, {@code input_blocks.1.0.in_layers.2.weight},
 * {@code middle_block.1.transformer_blocks.0.attn2.to_k.weight}, {@code out.2.weight}).
 */
public class UNetModel extends Module {

    /** Which reference class the structure follows. */
    public enum Flavor {
        /** sgm: always spatial transformers, per-level {@code num_res_blocks} / {@code transformer_depth}. */
        SGM,
        /** CompVis ldm: AttentionBlock unless {@code use_spatial_transformer}, the {@code legacy} head rule. */
        LDM
    }

    /**
     * Constructor parameters (sgm names; ldm's extra ones at the end), with sgm's defaults.
     *
 * <p>Size: a port of {@code openaimodel.UNetModel} (one class of about 300 lines in the reference):
 * the constructor mirrors its block-building loops and the forward mirrors its forward, keeping the
 * PyTorch names; the parameter record and its config validation make up the rest.
 *
     * @param inChannels input channels
     * @param modelChannels base channel count
     * @param outChannels output channels
     * @param numResBlocks res blocks per level
     * @param attentionResolutions downsampling rates with attention
     * @param dropout dropout probability
     * @param channelMult channel multiplier per level
     * @param convResample learned up/downsampling convolutions
     * @param numClasses {@code null}, an integer count (as a string), {@code continuous}, {@code timestep} or
     *     {@code sequential}
     * @param numHeads attention heads (-1: from numHeadChannels)
     * @param numHeadChannels channels per head (-1: from numHeads)
     * @param numHeadsUpsample heads of ldm's upsampling attention (-1: numHeads)
     * @param useScaleShiftNorm FiLM-like conditioning in ResBlocks
     * @param resblockUpdown ResBlocks for up/downsampling
     * @param useNewAttentionOrder QKVAttention instead of QKVAttentionLegacy
     * @param transformerDepth transformer blocks per level
     * @param transformerDepthMiddle transformer blocks in the middle (null: the last level's)
     * @param contextDim cross-attention context width(s), or null
     * @param disableSelfAttentions per level, or null
     * @param numAttentionBlocks per level, or null
     * @param disableMiddleSelfAttn middle transformer without self-attention
     * @param disableMiddleTransformer identity instead of the middle transformer
     * @param useLinearInTransformer linear instead of 1x1 conv projections in transformers
     * @param admInChannels width of the {@code sequential} vector conditioning
     * @param flavor sgm or ldm structure
     * @param useSpatialTransformer ldm: spatial transformers instead of AttentionBlocks
     * @param legacy ldm: the legacy head-width rule
     */
    public record Params(int inChannels, int modelChannels, int outChannels, List<Integer> numResBlocks,
            List<Integer> attentionResolutions, double dropout, List<Integer> channelMult, boolean convResample,
            String numClasses, int numHeads, int numHeadChannels, int numHeadsUpsample, boolean useScaleShiftNorm,
            boolean resblockUpdown, boolean useNewAttentionOrder, List<Integer> transformerDepth,
            Integer transformerDepthMiddle, List<Integer> contextDim, List<Boolean> disableSelfAttentions,
            List<Integer> numAttentionBlocks, boolean disableMiddleSelfAttn, boolean disableMiddleTransformer,
            boolean useLinearInTransformer, Integer admInChannels, Flavor flavor, boolean useSpatialTransformer,
            boolean legacy) {}

    private final Params p;
    private final Sequential timeEmbed;
    private final Module labelEmb;
    private final ModuleList<TimestepEmbedSequential> inputBlocks;
    private final TimestepEmbedSequential middleBlock;
    private final ModuleList<TimestepEmbedSequential> outputBlocks;
    private final Sequential out;
    private final int downsamplings;

    /**
     * Builds the UNet; every inconsistency of the parameters is an IllegalArgumentException naming it.
     *
     * @param params the constructor arguments (see {@code Params})
     */
    public UNetModel(Params params) {
        this.p = params;
        int levels = p.channelMult().size();
        if (levels == 0) {
            throw new IllegalArgumentException("channel_mult must be non-empty (got [])");
        }
        if (p.numHeads() == -1 && p.numHeadChannels() == -1) {
            throw new IllegalArgumentException("Either num_heads or num_head_channels has to be set");
        }
        List<Integer> nrb = expand(p.numResBlocks(), levels, "num_res_blocks");
        List<Integer> depth = expand(p.transformerDepth(), levels, "transformer_depth");
        int depthMiddle = p.transformerDepthMiddle() != null ? p.transformerDepthMiddle() : depth.get(levels - 1);
        if (p.disableSelfAttentions() != null && p.disableSelfAttentions().size() != levels) {
            throw new IllegalArgumentException("disable_self_attentions needs one entry per level (" + levels + "), got "
                    + p.disableSelfAttentions());
        }
        if (p.numAttentionBlocks() != null) {
            if (p.numAttentionBlocks().size() != levels) {
                throw new IllegalArgumentException("num_attention_blocks needs one entry per level, got " + p.numAttentionBlocks());
            }
            for (int i = 0; i < levels; i++) {
                if (p.numAttentionBlocks().get(i) > nrb.get(i)) {
                    throw new IllegalArgumentException("num_attention_blocks[" + i + "] exceeds num_res_blocks[" + i + "]");
                }
            }
        }
        if (p.flavor() == Flavor.LDM && p.useSpatialTransformer() && p.contextDim() == null) {
            throw new IllegalArgumentException("use_spatial_transformer needs context_dim (ldm)");
        }
        int numHeadsUpsample = p.numHeadsUpsample() == -1 ? p.numHeads() : p.numHeadsUpsample();
        int mc = p.modelChannels();
        int ted = mc * 4;
        this.timeEmbed = register("time_embed", new Sequential(new Linear(mc, ted), new SiLU(), new Linear(ted, ted)));
        this.labelEmb = p.numClasses() == null ? null : register("label_emb", labelEmbedding(p.numClasses(), mc, ted, p.admInChannels()));

        this.inputBlocks = register("input_blocks", new ModuleList<>());
        inputBlocks.add(new TimestepEmbedSequential(new Conv2d(p.inChannels(), mc, 3, 1, 1)));
        List<Integer> inputBlockChans = new ArrayList<>();
        inputBlockChans.add(mc);
        int ch = mc;
        int ds = 1;
        int numHeads = p.numHeads();
        int down = 0;
        for (int level = 0; level < levels; level++) {
            int mult = p.channelMult().get(level);
            for (int nr = 0; nr < nrb.get(level); nr++) {
                List<Module> layers = new ArrayList<>();
                layers.add(new ResBlock(ch, ted, p.dropout(), mult * mc, false, p.useScaleShiftNorm(), false, false));
                ch = mult * mc;
                if (p.attentionResolutions().contains(ds)) {
                    int[] hd = heads(ch, numHeads);
                    numHeads = hd[0];
                    boolean disabledSa = p.disableSelfAttentions() != null
                            && (p.flavor() == Flavor.LDM || p.contextDim() != null)
                            && p.disableSelfAttentions().get(level);
                    if (p.numAttentionBlocks() == null || nr < p.numAttentionBlocks().get(level)) {
                        layers.add(attention(ch, hd[0], hd[1], depth.get(level), disabledSa, hd[0]));
                    }
                }
                inputBlocks.add(new TimestepEmbedSequential(layers.toArray(new Module[0])));
                inputBlockChans.add(ch);
            }
            if (level != levels - 1) {
                int outCh = ch;
                inputBlocks.add(new TimestepEmbedSequential(p.resblockUpdown()
                        ? new ResBlock(ch, ted, p.dropout(), outCh, false, p.useScaleShiftNorm(), false, true)
                        : new Downsample(ch, p.convResample(), outCh, 1)));
                ch = outCh;
                inputBlockChans.add(ch);
                ds *= 2;
                down++;
            }
        }
        this.downsamplings = down;
        int[] hd = heads(ch, numHeads);
        numHeads = hd[0];
        Module middleAttn;
        if (p.flavor() == Flavor.SGM && p.disableMiddleTransformer()) {
            middleAttn = new Identity();
        } else {
            middleAttn = attention(ch, hd[0], hd[1], depthMiddle, p.disableMiddleSelfAttn(), hd[0]);
        }
        this.middleBlock = register("middle_block", new TimestepEmbedSequential(
                new ResBlock(ch, ted, p.dropout(), ch, false, p.useScaleShiftNorm(), false, false),
                middleAttn,
                new ResBlock(ch, ted, p.dropout(), null, false, p.useScaleShiftNorm(), false, false)));

        this.outputBlocks = register("output_blocks", new ModuleList<>());
        for (int level = levels - 1; level >= 0; level--) {
            int mult = p.channelMult().get(level);
            for (int i = 0; i < nrb.get(level) + 1; i++) {
                int ich = inputBlockChans.remove(inputBlockChans.size() - 1);
                List<Module> layers = new ArrayList<>();
                layers.add(new ResBlock(ch + ich, ted, p.dropout(), mc * mult, false, p.useScaleShiftNorm(), false, false));
                ch = mc * mult;
                if (p.attentionResolutions().contains(ds)) {
                    int[] h2 = heads(ch, numHeads);
                    numHeads = h2[0];
                    boolean disabledSa = p.disableSelfAttentions() != null && p.disableSelfAttentions().get(level);
                    if (p.numAttentionBlocks() == null || i < p.numAttentionBlocks().get(level)) {
                        layers.add(attention(ch, h2[0], h2[1], depth.get(level), disabledSa, numHeadsUpsample));
                    }
                }
                if (level > 0 && i == nrb.get(level)) {
                    int outCh = ch;
                    layers.add(p.resblockUpdown()
                            ? new ResBlock(ch, ted, p.dropout(), outCh, false, p.useScaleShiftNorm(), true, false)
                            : new Upsample(ch, p.convResample(), outCh, 1));
                    ds /= 2;
                }
                outputBlocks.add(new TimestepEmbedSequential(layers.toArray(new Module[0])));
            }
        }
        this.out = register("out", new Sequential(GroupNorm32.normalization(ch), new SiLU(),
                zeroModule(new Conv2d(mc, p.outChannels(), 3, 1, 1))));
    }

    /** [num_heads, dim_head] at width {@code ch}, following the reference's rules. */
    private int[] heads(int ch, int numHeads) {
        int dimHead;
        int nh = numHeads;
        if (p.numHeadChannels() == -1) {
            dimHead = ch / nh;
        } else {
            nh = ch / p.numHeadChannels();
            dimHead = p.numHeadChannels();
        }
        if (p.flavor() == Flavor.LDM && p.legacy()) {
            dimHead = p.useSpatialTransformer() ? ch / nh : p.numHeadChannels();
        }
        return new int[] {nh, dimHead};
    }

    private Module attention(int ch, int numHeads, int dimHead, int depth, boolean disableSelfAttn, int ldmHeads) {
        if (p.flavor() == Flavor.LDM && !p.useSpatialTransformer()) {
            return new AttentionBlock(ch, ldmHeads, dimHead, p.useNewAttentionOrder());
        }
        return new SpatialTransformer(ch, numHeads, dimHead, depth, 0.0, p.contextDim(), disableSelfAttn,
                p.useLinearInTransformer());
    }

    private static Module labelEmbedding(String numClasses, int mc, int ted, Integer adm) {
        switch (numClasses) {
            case "continuous":
                return new Linear(1, ted);
            case "timestep":
                return new Sequential(new Timestep(mc), new Sequential(new Linear(mc, ted), new SiLU(), new Linear(ted, ted)));
            case "sequential":
                if (adm == null) {
                    throw new IllegalArgumentException("num_classes: sequential needs adm_in_channels");
                }
                return new Sequential(new Sequential(new Linear(adm, ted), new SiLU(), new Linear(ted, ted)));
            default:
                try {
                    return new Embedding(Integer.parseInt(numClasses), ted);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("num_classes must be an integer, 'continuous', 'timestep' or"
                            + " 'sequential', got '" + numClasses + "'");
                }
        }
    }

    private static List<Integer> expand(List<Integer> values, int levels, String name) {
        if (values.size() == 1) {
            return Collections.nCopies(levels, values.get(0));
        }
        if (values.size() != levels) {
            throw new IllegalArgumentException("provide " + name + " either as an int (globally constant) or as a list"
                    + " with one entry per level of channel_mult (" + levels + "), got " + values);
        }
        return values;
    }

    /**
     * The parameters.
     *
     * @return the constructor arguments
     */
    public Params getParams() {
        return p;
    }

    /**
     * Sets the query-chunking threshold of every spatial transformer's attention.
     *
     * @param maxScoreElements the largest attention score matrix, in elements, computed in one piece (larger
     *     ones are chunked over queries)
     */
    public void setMaxScoreElements(long maxScoreElements) {
        for (Module m : allModules(this)) {
            if (m instanceof SpatialTransformer st) {
                st.setMaxScoreElements(maxScoreElements);
            }
        }
    }

    private static List<Module> allModules(Module root) {
        List<Module> out = new ArrayList<>();
        Deque<Module> q = new ArrayDeque<>();
        q.add(root);
        while (!q.isEmpty()) {
            Module m = q.poll();
            out.add(m);
            q.addAll(m.children().values());
        }
        return out;
    }

    /**
     * {@code forward(x, timesteps, context, y)} with a single context (or none).
     *
     * @param x the input {@code [B, C, H, W]}
     * @param timesteps the timesteps (or {@code c_noise}) {@code [B]}
     * @param context the cross-attention context {@code [B, L, context_dim]}, or null
     * @param y the class/vector conditioning {@code [B, adm_in_channels]}, or null
     * @return the model output {@code [B, out_channels, H, W]}, a new array
     */
    public NDArray forward(NDArray x, NDArray timesteps, NDArray context, NDArray y) {
        return forward(x, timesteps, context == null ? null : List.of(context), y);
    }

    /**
     * The forward pass.
     *
     * @param x [B, in_channels, H, W]; H and W divisible by 2^(levels-1)
     * @param timesteps [B] float or integer timesteps
     * @param context cross-attention contexts [B, M, context_dim] (one, or one per transformer block), or
     *     null
     * @param y [B] class indices, or [B, adm_in_channels] vectors for {@code sequential}, or null
     * @return [B, out_channels, H, W]
     */
    public NDArray forward(NDArray x, NDArray timesteps, List<NDArray> context, NDArray y) {
        validate(x, timesteps, context, y);
        List<NDArray> hs = new ArrayList<>();
        NDArray emb;
        try (NDArray tEmb = DiffusionUtil.timestepEmbedding(timesteps, p.modelChannels(), 10000, false)) {
            emb = timeEmbed.forward(tEmb);
        }
        if (labelEmb != null) {
            try (NDArray le = ((UnaryModule) labelEmb).forward(y);
                    NDArray old = emb) {
                emb = old.add(le);
            }
        }
        NDArray embedding = emb;
        try (embedding) {
            NDArray h = x;
            for (TimestepEmbedSequential module : inputBlocks.items()) {
                h = module.forward(h, embedding, context);
                hs.add(h);
            }
            h = middleBlock.forward(h, embedding, context);
            for (TimestepEmbedSequential module : outputBlocks.items()) {
                NDArray skip = hs.remove(hs.size() - 1);
                NDArray cat;
                try (NDArray prev = h; skip) {
                    cat = NDArrays.concat(new NDList(prev, skip), 1);
                }
                try (cat) {
                    h = module.forward(cat, embedding, context);
                }
            }
            try (NDArray last = h) {
                NDArray typed = last.getDataType() == x.getDataType() ? last : last.toType(x.getDataType(), false);
                try (NDArray t = typed == last ? null : typed) {
                    return out.forward(typed);
                }
            }
        }
    }

    private void validate(NDArray x, NDArray timesteps, List<NDArray> context, NDArray y) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != p.inChannels()) {
            throw new IllegalArgumentException("UNetModel expects x [B, " + p.inChannels() + ", H, W], got " + s);
        }
        long f = 1L << downsamplings;
        if (s.get(2) % f != 0 || s.get(3) % f != 0) {
            throw new IllegalArgumentException("UNetModel: spatial size " + s.get(2) + "x" + s.get(3) + " must be divisible by "
                    + f + " (" + downsamplings + " downsamplings), got x " + s);
        }
        if (timesteps == null || timesteps.getShape().dimension() != 1 || timesteps.getShape().get(0) != s.get(0)) {
            throw new IllegalArgumentException("UNetModel expects timesteps [" + s.get(0) + "], got "
                    + (timesteps == null ? "null" : timesteps.getShape()));
        }
        if ((y != null) != (p.numClasses() != null)) {
            throw new IllegalArgumentException(p.numClasses() != null
                    ? "UNetModel is class-conditional (num_classes " + p.numClasses() + "): y is required"
                    : "UNetModel is not class-conditional (num_classes unset): y must be null, got " + y.getShape());
        }
        if (y != null) {
            if (y.getShape().get(0) != s.get(0)) {
                throw new IllegalArgumentException("UNetModel: y batch " + y.getShape() + " differs from x " + s);
            }
            if ("sequential".equals(p.numClasses()) && (y.getShape().dimension() != 2
                    || y.getShape().get(1) != p.admInChannels())) {
                throw new IllegalArgumentException("UNetModel expects y [B, " + p.admInChannels() + "] (adm_in_channels), got "
                        + y.getShape());
            }
        }
        if (p.contextDim() != null && hasTransformers()) {
            if (context == null || context.isEmpty()) {
                throw new IllegalArgumentException("UNetModel has cross-attention (context_dim " + p.contextDim()
                        + "): context [B, M, " + p.contextDim().get(0) + "] is required");
            }
            for (NDArray c : context) {
                Shape cs = c.getShape();
                if (cs.dimension() != 3 || cs.get(0) != s.get(0) || !p.contextDim().contains((int) cs.get(2))) {
                    throw new IllegalArgumentException("UNetModel expects context [" + s.get(0) + ", M, "
                            + p.contextDim().get(0) + "], got " + cs);
                }
            }
        }
    }

    private boolean hasTransformers() {
        return p.flavor() == Flavor.SGM || p.useSpatialTransformer();
    }

    // ------------------------------------------------------------------ config

    /**
     * Builds from the params of {@code sgm.modules.diffusionmodules.openaimodel.UNetModel} or {@code
     * ldm.modules.diffusionmodules.openaimodel.UNetModel} (the target name decides the structure).
     *
     * @param c the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code UNetModel}
     */
    public static UNetModel fromConfig(ConfigNode c, Instantiator inst) {
        String target = inst.currentTarget();
        Flavor flavor = target != null && target.startsWith("ldm.") ? Flavor.LDM : Flavor.SGM;
        c.ignore("use_checkpoint", "use_fp16", "image_size", "use_bf16");
        int dims = c.getInt("dims", 2);
        if (dims != 2) {
            throw new ConfigException(c.pathOf("dims"), "only 2-D UNets are supported, got dims " + dims);
        }
        if (c.has("n_embed") && !c.isNull("n_embed")) {
            throw new ConfigException(c.pathOf("n_embed"), "codebook-id prediction (n_embed) is not supported");
        }
        String attnType = c.getString("spatial_transformer_attn_type", "softmax");
        if (!attnType.equals("softmax") && !attnType.equals("softmax-xformers")) {
            throw new ConfigException(c.pathOf("spatial_transformer_attn_type"),
                    "expected softmax or softmax-xformers, got \"" + attnType + "\"");
        }
        String numClasses = null;
        Object nc = c.raw("num_classes");
        if (nc instanceof Integer i) {
            numClasses = Integer.toString(i);
        } else if (nc instanceof String s) {
            numClasses = s.toLowerCase(Locale.ROOT);
            if (!List.of("continuous", "timestep", "sequential").contains(numClasses)) {
                throw new ConfigException(c.pathOf("num_classes"),
                        "expected an integer, continuous, timestep or sequential, got \"" + s + "\"");
            }
        } else if (nc != null) {
            throw new ConfigException(c.pathOf("num_classes"), "expected an integer or a string, got " + nc);
        }
        List<Integer> contextDim = c.getIntOrIntList("context_dim", null);
        List<Boolean> disableSa = null;
        if (!c.isNull("disable_self_attentions")) {
            Object v = c.raw("disable_self_attentions");
            if (!(v instanceof List<?> l) || !l.stream().allMatch(b -> b instanceof Boolean)) {
                throw new ConfigException(c.pathOf("disable_self_attentions"), "expected a list of booleans, got " + v);
            }
            disableSa = l.stream().map(b -> (Boolean) b).toList();
        }
        Params params = new Params(
                c.getInt("in_channels"),
                c.getInt("model_channels"),
                c.getInt("out_channels"),
                c.getIntOrIntList("num_res_blocks", null),
                c.getIntOrIntList("attention_resolutions", null),
                c.getDouble("dropout", 0.0),
                c.getIntList("channel_mult", flavor == Flavor.SGM ? List.of(1, 2, 4, 8) : List.of(1, 2, 4, 8)),
                c.getBoolean("conv_resample", true),
                numClasses,
                c.getInt("num_heads", -1),
                c.getInt("num_head_channels", -1),
                c.getInt("num_heads_upsample", -1),
                c.getBoolean("use_scale_shift_norm", false),
                c.getBoolean("resblock_updown", false),
                c.getBoolean("use_new_attention_order", false),
                c.getIntOrIntList("transformer_depth", List.of(1)),
                c.isNull("transformer_depth_middle") ? null : c.getInt("transformer_depth_middle"),
                contextDim,
                disableSa,
                c.getIntOrIntList("num_attention_blocks", null),
                c.getBoolean("disable_middle_self_attn", false),
                c.getBoolean("disable_middle_transformer", false),
                c.getBoolean("use_linear_in_transformer", false),
                c.isNull("adm_in_channels") ? null : c.getInt("adm_in_channels"),
                flavor,
                flavor == Flavor.LDM && c.getBoolean("use_spatial_transformer", false),
                flavor == Flavor.LDM && c.getBoolean("legacy", true));
        if (params.numResBlocks() == null) {
            throw new ConfigException(c.pathOf("num_res_blocks"), "required key is missing");
        }
        if (params.attentionResolutions() == null) {
            throw new ConfigException(c.pathOf("attention_resolutions"), "required key is missing");
        }
        if (flavor == Flavor.SGM) {
            c.ignore("use_spatial_transformer", "legacy");
        }
        try {
            return new UNetModel(params);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(c.path(), e.getMessage(), e);
        }
    }
}
