package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.GroupNorm;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.UnaryModule;
import java.util.ArrayList;
import java.util.List;

/**
 * Port of {@code sgm.modules.diffusionmodules.model.Decoder}: {@code conv_in}, {@code mid}, then
 * {@code up.i} levels (stored highest resolution first, {@code up.0}, but run from the last level),
 * each with {@code num_res_blocks + 1} ResnetBlocks, attention at the attention resolutions and an
 * {@code upsample}; {@code norm_out}, swish, {@code conv_out} ({@code give_pre_end}, {@code
 * tanh_out}).
 */
public class Decoder extends Module implements UnaryModule {

    /** One resolution level ({@code up.i}). */
    static final class Level extends Module {
        final ModuleList<ResnetBlock> block = register("block", new ModuleList<>());
        final ModuleList<Module> attn = register("attn", new ModuleList<>());
        Upsample upsample;

        void setUpsample(Upsample m) {
            upsample = register("upsample", m);
        }
    }

    private final DDConfig c;
    private final Conv2d convIn;
    private final Encoder.Mid mid;
    private final ModuleList<Level> up;
    private final GroupNorm normOut;
    private final Conv2d convOut;

    /**
     * Builds the decoder of a ddconfig.
     *
     * @param c the architecture ({@code ddconfig})
     */
    public Decoder(DDConfig c) {
        this.c = c;
        int levels = c.chMult().size();
        int blockIn = c.ch() * c.chMult().get(levels - 1);
        int currRes = c.resolution() / (1 << (levels - 1));
        this.convIn = register("conv_in", new Conv2d(c.zChannels(), blockIn, 3, 1, 1));
        this.mid = register("mid", new Encoder.Mid(blockIn, c.dropout(), c.attnType()));
        List<Level> built = new ArrayList<>();
        for (int i = levels - 1; i >= 0; i--) {
            Level level = new Level();
            int blockOut = c.ch() * c.chMult().get(i);
            for (int j = 0; j < c.numResBlocks() + 1; j++) {
                level.block.add(new ResnetBlock(blockIn, blockOut, false, c.dropout(), 0));
                blockIn = blockOut;
                if (c.attnResolutions().contains(currRes)) {
                    level.attn.add(DDConfig.makeAttn(blockIn, c.attnType()));
                }
            }
            if (i != 0) {
                level.setUpsample(new Upsample(blockIn, c.resampWithConv()));
                currRes *= 2;
            }
            built.add(0, level);
        }
        this.up = register("up", new ModuleList<>());
        for (Level l : built) {
            up.add(l);
        }
        this.normOut = register("norm_out", ModelUtil.normalize(blockIn));
        this.convOut = register("conv_out", new Conv2d(blockIn, c.outCh(), 3, 1, 1));
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.model.Decoder} params (a ddconfig).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code Decoder}
     */
    public static Decoder fromConfig(ConfigNode p, Instantiator inst) {
        return new Decoder(DDConfig.fromConfig(p));
    }

    /**
     * The ddconfig.
     *
     * @return the architecture
     */
    public DDConfig getConfig() {
        return c;
    }

    /**
     * Sets the query-chunking threshold of every attention block.
     *
     * @param n the largest attention score matrix, in elements, computed in one piece
     */
    public void setMaxScoreElements(long n) {
        java.util.ArrayDeque<Module> q = new java.util.ArrayDeque<>(List.of(this));
        while (!q.isEmpty()) {
            Module m = q.poll();
            if (m instanceof AttnBlock a) {
                a.setMaxScoreElements(n);
            }
            q.addAll(m.children().values());
        }
    }

    /**
     * @param z [B, z_channels, h, w]
     * @return [B, out_ch, h * f, w * f]
     */
    @Override
    public NDArray forward(NDArray z) {
        return forwardFrom(z);
    }

    /**
     * The forward pass that also returns the input of {@code conv_out} (for gradients with respect to
     * {@code conv_out.weight} without a backward pass through the whole decoder).
     *
     * @param z [B, z_channels, h, w]
     * @return {the input of conv_out [B, block_in, H, W], the output [B, out_ch, H, W]}; new arrays
     * @throws IllegalStateException when {@code give_pre_end} or {@code tanh_out} is set
     */
    public NDList forwardWithConvOutInput(NDArray z) {
        if (c.givePreEnd() || c.tanhOut()) {
            throw new IllegalStateException("forwardWithConvOutInput needs give_pre_end and tanh_out off");
        }
        NDArray h = trunk(z);
        NDArray a = convOutInput(h);
        return new NDList(a, convOut.forward(a));
    }

    private NDArray convOutInput(NDArray h) {
        try (NDArray hh = h) {
            // norm_out -> swish in one call (F.groupNormSilu)
            return normOut.forwardSilu(hh);
        }
    }

    private NDArray forwardFrom(NDArray z) {
        NDArray h = trunk(z);
        if (c.givePreEnd()) {
            return h;
        }
        NDArray out;
        try (NDArray a = convOutInput(h)) {
            out = convOut.forward(a);
        }
        if (c.tanhOut()) {
            try (out) {
                return out.tanh();
            }
        }
        return out;
    }

    private NDArray trunk(NDArray z) {
        Shape s = z.getShape();
        if (s.dimension() != 4 || s.get(1) != c.zChannels()) {
            throw new IllegalArgumentException("Decoder expects latents [B, " + c.zChannels() + ", h, w], got " + s);
        }
        NDArray h;
        try (NDArray ci = convIn.forward(z)) {
            h = mid.forward(ci);
        }
        for (int i = up.size() - 1; i >= 0; i--) {
            Level level = up.get(i);
            for (int j = 0; j < c.numResBlocks() + 1; j++) {
                NDArray next = level.block.get(j).forward(h, null);
                h.close();
                h = next;
                if (level.attn.size() > 0) {
                    next = ((UnaryModule) level.attn.get(j)).forward(h);
                    h.close();
                    h = next;
                }
            }
            if (level.upsample != null) {
                NDArray next = level.upsample.forward(h);
                h.close();
                h = next;
            }
        }
        return h;
    }
}
