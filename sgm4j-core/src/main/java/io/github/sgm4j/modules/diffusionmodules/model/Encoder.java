package io.github.sgm4j.modules.diffusionmodules.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.GroupNorm;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of {@code sgm.modules.diffusionmodules.model.Encoder}: {@code conv_in}, per level {@code
 * down.i.block.j} (ResnetBlocks), {@code down.i.attn.j} (at attention resolutions) and {@code
 * down.i.downsample}, then {@code mid.block_1/attn_1/block_2}, {@code norm_out} and {@code
 * conv_out} (2 x z_channels with {@code double_z}).
 */
public class Encoder extends Module implements UnaryModule {

    /** One resolution level ({@code down.i}). */
    static final class Level extends Module {
        final ModuleList<ResnetBlock> block = register("block", new ModuleList<>());
        final ModuleList<Module> attn = register("attn", new ModuleList<>());
        Downsample downsample;

        void setDownsample(Downsample m) {
            downsample = register("downsample", m);
        }
    }

    /** The middle blocks ({@code mid}). */
    static final class Mid extends Module {
        final ResnetBlock block1;
        final Module attn1;
        final ResnetBlock block2;

        Mid(int ch, double dropout, String attnType) {
            block1 = register("block_1", new ResnetBlock(ch, ch, false, dropout, 0));
            attn1 = register("attn_1", DDConfig.makeAttn(ch, attnType));
            block2 = register("block_2", new ResnetBlock(ch, ch, false, dropout, 0));
        }

        NDArray forward(NDArray h) {
            try (NDArray a = block1.forward(h, null);
                    NDArray b = ((UnaryModule) attn1).forward(a)) {
                return block2.forward(b, null);
            }
        }
    }

    private final DDConfig c;
    private final Conv2d convIn;
    private final ModuleList<Level> down;
    private final Mid mid;
    private final GroupNorm normOut;
    private final Conv2d convOut;

    /**
     * Builds the encoder of a ddconfig.
     *
     * @param c the architecture ({@code ddconfig})
     */
    public Encoder(DDConfig c) {
        this.c = c;
        this.convIn = register("conv_in", new Conv2d(c.inChannels(), c.ch(), 3, 1, 1));
        this.down = register("down", new ModuleList<>());
        int currRes = c.resolution();
        int blockIn = c.ch();
        int levels = c.chMult().size();
        for (int i = 0; i < levels; i++) {
            Level level = new Level();
            blockIn = c.ch() * (i == 0 ? 1 : c.chMult().get(i - 1));
            int blockOut = c.ch() * c.chMult().get(i);
            for (int j = 0; j < c.numResBlocks(); j++) {
                level.block.add(new ResnetBlock(blockIn, blockOut, false, c.dropout(), 0));
                blockIn = blockOut;
                if (c.attnResolutions().contains(currRes)) {
                    level.attn.add(DDConfig.makeAttn(blockIn, c.attnType()));
                }
            }
            if (i != levels - 1) {
                level.setDownsample(new Downsample(blockIn, c.resampWithConv()));
                currRes /= 2;
            }
            down.add(level);
        }
        this.mid = register("mid", new Mid(blockIn, c.dropout(), c.attnType()));
        this.normOut = register("norm_out", ModelUtil.normalize(blockIn));
        this.convOut = register("conv_out", new Conv2d(blockIn, c.doubleZ() ? 2 * c.zChannels() : c.zChannels(), 3, 1, 1));
    }

    /**
     * Builds from {@code sgm.modules.diffusionmodules.model.Encoder} params (a ddconfig).
     *
     * @param p the {@code params} node of the config
     * @param inst the instantiator, used for nested {@code *_config} nodes and context objects
     * @return the new {@code Encoder}
     */
    public static Encoder fromConfig(ConfigNode p, Instantiator inst) {
        return new Encoder(DDConfig.fromConfig(p));
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
        for (Module m : java.util.List.copyOf(namedModules())) {
            if (m instanceof AttnBlock a) {
                a.setMaxScoreElements(n);
            }
        }
    }

    java.util.List<Module> namedModules() {
        java.util.List<Module> out = new java.util.ArrayList<>();
        java.util.ArrayDeque<Module> q = new java.util.ArrayDeque<>(java.util.List.of(this));
        while (!q.isEmpty()) {
            Module m = q.poll();
            out.add(m);
            q.addAll(m.children().values());
        }
        return out;
    }

    /**
     * @param x [B, in_channels, H, W], H and W divisible by 2^(levels-1)
     * @return [B, (2 x) z_channels, H / f, W / f]
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != c.inChannels()) {
            throw new IllegalArgumentException("Encoder expects images [B, " + c.inChannels() + ", H, W], got " + s);
        }
        int f = c.downsamplingFactor();
        if (s.get(2) % f != 0 || s.get(3) % f != 0) {
            throw new IllegalArgumentException("Encoder: image size " + s.get(2) + "x" + s.get(3)
                    + " cannot be downsampled evenly by " + f + " (ch_mult " + c.chMult() + "), got " + s);
        }
        NDArray h = convIn.forward(x);
        for (int i = 0; i < down.size(); i++) {
            Level level = down.get(i);
            for (int j = 0; j < c.numResBlocks(); j++) {
                NDArray next = level.block.get(j).forward(h, null);
                h.close();
                h = next;
                if (level.attn.size() > 0) {
                    next = ((UnaryModule) level.attn.get(j)).forward(h);
                    h.close();
                    h = next;
                }
            }
            if (level.downsample != null) {
                NDArray next = level.downsample.forward(h);
                h.close();
                h = next;
            }
        }
        try (NDArray hh = h;
                NDArray m = mid.forward(hh);
                NDArray a = normOut.forwardSilu(m)) {
            return convOut.forward(a);
        }
    }
}
