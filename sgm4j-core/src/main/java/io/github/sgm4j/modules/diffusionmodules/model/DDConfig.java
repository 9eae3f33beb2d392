package io.github.sgm4j.modules.diffusionmodules.model;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.util.List;
import java.util.Set;

/**
 * The {@code ddconfig} shared by {@link Encoder} and {@link Decoder} (the keyword arguments of
 * sgm's Encoder/Decoder), with sgm's defaults.
 *
 * @param ch base channels
 * @param outCh output channels of the decoder
 * @param chMult channel multiplier per resolution level
 * @param numResBlocks res blocks per level
 * @param attnResolutions resolutions with attention
 * @param dropout dropout
 * @param resampWithConv learned resampling convolutions
 * @param inChannels image channels
 * @param resolution image resolution (used for the attention schedule)
 * @param zChannels latent channels
 * @param doubleZ encoder outputs mean and log-variance
 * @param attnType {@code vanilla}, {@code vanilla-xformers}, {@code linear} or {@code none}
 * @param givePreEnd decoder returns features before the output head
 * @param tanhOut decoder applies tanh to its output
 */
public record DDConfig(int ch, int outCh, List<Integer> chMult, int numResBlocks, List<Integer> attnResolutions,
        double dropout, boolean resampWithConv, int inChannels, int resolution, int zChannels, boolean doubleZ,
        String attnType, boolean givePreEnd, boolean tanhOut) {

    /** The attention types accepted. */
    public static final Set<String> ATTN_TYPES = Set.of("vanilla", "vanilla-xformers", "linear", "none");

    /**
     * Validates.
     *
     * @param ch the base channel count
     * @param outCh the output channels of the decoder
     * @param chMult the channel multiplier per resolution level
     * @param numResBlocks the residual blocks per level
     * @param attnResolutions the resolutions that get an attention block
     * @param dropout the dropout probability
     * @param resampWithConv whether up/downsampling uses a convolution
     * @param inChannels the encoder input channels
     * @param resolution the input resolution
     * @param zChannels the latent channels
     * @param doubleZ whether the encoder outputs mean and log-variance ({@code 2 * z_channels})
     * @param attnType the attention type, one of {@link #ATTN_TYPES}
     * @param givePreEnd whether the decoder returns the features before the output norm/conv
     * @param tanhOut whether the decoder output goes through {@code tanh}
     */
    public DDConfig {
        if (chMult.isEmpty()) {
            throw new IllegalArgumentException("ch_mult must be non-empty (got [])");
        }
        if (!ATTN_TYPES.contains(attnType)) {
            throw new IllegalArgumentException("attn_type " + attnType + " unknown (expected one of " + ATTN_TYPES + ")");
        }
    }

    /**
     * Reads a ddconfig (Encoder/Decoder params); unknown keys are errors.
     *
     * @param p the {@code ddconfig} node
     * @return the parsed configuration
     */
    public static DDConfig fromConfig(ConfigNode p) {
        String attnType = p.getString("attn_type", "vanilla");
        if (p.getBoolean("use_linear_attn", false)) {
            attnType = "linear";
        }
        try {
            return new DDConfig(p.getInt("ch"), p.getInt("out_ch"), p.getIntList("ch_mult", List.of(1, 2, 4, 8)),
                    p.getInt("num_res_blocks"), p.getIntList("attn_resolutions"), p.getDouble("dropout", 0.0),
                    p.getBoolean("resamp_with_conv", true), p.getInt("in_channels"), p.getInt("resolution"),
                    p.getInt("z_channels"), p.getBoolean("double_z", true), attnType, p.getBoolean("give_pre_end", false),
                    p.getBoolean("tanh_out", false));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(p.path(), e.getMessage(), e);
        }
    }

    /**
     * The downsampling factor of the encoder, {@code 2^(levels-1)}.
     *
     * @return the spatial downsampling factor {@code 2^(len(ch_mult) - 1)}
     */
    public int downsamplingFactor() {
        return 1 << (chMult.size() - 1);
    }

    static io.github.sgm4j.nn.Module makeAttn(int channels, String attnType) {
        return switch (attnType) {
            case "vanilla", "vanilla-xformers" -> new AttnBlock(channels);
            case "linear" -> new LinAttnBlock(channels);
            default -> new io.github.sgm4j.nn.Identity();
        };
    }
}
