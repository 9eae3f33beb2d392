package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.BatchNorm2d;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.LeakyReLU;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Sequential;
import io.github.sgm4j.nn.UnaryModule;

/**
 * Port of the PatchGAN discriminator {@code NLayerDiscriminator(input_nc, ndf, n_layers,
 * use_actnorm)} of sgm ({@code sgm.modules.autoencoding.lpips.model.model}) and taming ({@code
 * taming.modules.discriminator.model}). Keys {@code main.<i>.*} with the reference's indices:
 *
 * <pre>
 * main.0 Conv2d(input_nc, ndf, 4, 2, 1)          main.1 LeakyReLU(0.2)
 * n = 1..n_layers-1: Conv2d(ndf*m', ndf*m, 4, 2, 1, bias=use_actnorm), norm(ndf*m), LeakyReLU(0.2)   (m = min(2^n, 8))
 * Conv2d(ndf*m', ndf*min(2^n_layers, 8), 4, 1, 1, bias=use_actnorm), norm, LeakyReLU(0.2)
 * Conv2d(ndf*min(2^n_layers, 8), 1, 4, 1, 1)      -> [B, 1, h, w] logits
 * </pre>
 *
 * where norm is {@link BatchNorm2d} (or {@link ActNorm} with {@code use_actnorm}). The reference
 * losses apply {@link #weightsInit} after construction.
 */
public class NLayerDiscriminator extends Module implements UnaryModule {

    /**
     * Constructor arguments with the reference defaults.
     *
     * @param inputNc input channels (3)
     * @param ndf filters of the first conv (64)
     * @param nLayers number of stride-2 conv layers (3)
     * @param useActnorm ActNorm instead of BatchNorm2d (false)
     */
    public record Params(int inputNc, int ndf, int nLayers, boolean useActnorm) {
        /**
         * Validates the arguments.
         *
         * @param inputNc the input channels (default 3)
         * @param ndf the channels of the first convolution (default 64)
         * @param nLayers the number of strided layers (default 3)
         * @param useActnorm whether to normalise with {@link
         *     io.github.sgm4j.modules.autoencoding.lpips.ActNorm} instead of {@code BatchNorm2d}
         */
        public Params {
            if (inputNc <= 0 || ndf <= 0 || nLayers < 0) {
                throw new IllegalArgumentException(String.format(
                        "NLayerDiscriminator: invalid input_nc=%d ndf=%d n_layers=%d", inputNc, ndf, nLayers));
            }
        }

        /**
         * The reference defaults: (3, 64, 3, false).
         *
         * @return the parameters with the reference's defaults
         */
        public static Params defaults() {
            return new Params(3, 64, 3, false);
        }
    }

    private final Params params;
    private final Sequential main;

    /**
     * Builds the layer stack.
     *
     * @param params the arguments
     */
    public NLayerDiscriminator(Params params) {
        this.params = params;
        int ndf = params.ndf();
        boolean useBias = params.useActnorm();
        Sequential seq = new Sequential();
        seq.add(new Conv2d(params.inputNc(), ndf, 4, 2, 1));
        seq.add(new LeakyReLU(0.2));
        int mult = 1;
        int prev;
        for (int n = 1; n < params.nLayers(); n++) {
            prev = mult;
            mult = Math.min(1 << n, 8);
            seq.add(new Conv2d(ndf * prev, ndf * mult, 4, 2, 1, 1, useBias));
            seq.add(norm(ndf * mult));
            seq.add(new LeakyReLU(0.2));
        }
        prev = mult;
        mult = Math.min(1 << Math.min(params.nLayers(), 30), 8);
        seq.add(new Conv2d(ndf * prev, ndf * mult, 4, 1, 1, 1, useBias));
        seq.add(norm(ndf * mult));
        seq.add(new LeakyReLU(0.2));
        seq.add(new Conv2d(ndf * mult, 1, 4, 1, 1));
        this.main = register("main", seq);
    }

    private Module norm(int channels) {
        return params.useActnorm() ? new ActNorm(channels) : new BatchNorm2d(channels);
    }

    /**
     * Builds from {@code sgm.modules.autoencoding.lpips.model.model.NLayerDiscriminator} /
     * {@code taming.modules.discriminator.model.NLayerDiscriminator} params ({@code input_nc},
     * {@code ndf}, {@code n_layers}, {@code use_actnorm}).
     *
     * @param p the params node
     * @param inst the instantiator (unused)
     * @return the discriminator (default init; apply {@link #weightsInit} for the losses' init)
     */
    public static NLayerDiscriminator fromConfig(ConfigNode p, Instantiator inst) {
        Params d = Params.defaults();
        return new NLayerDiscriminator(new Params(p.getInt("input_nc", d.inputNc()), p.getInt("ndf", d.ndf()),
                p.getInt("n_layers", d.nLayers()), p.getBoolean("use_actnorm", d.useActnorm())));
    }

    /**
     * {@code weights_init} applied to every module of {@code root} ({@code root.apply(weights_init)}):
     * conv weights get {@code normal_(0, 0.02)}, BatchNorm weights {@code normal_(1, 0.02)} and
     * BatchNorm biases 0, when the tree is initialised; other tensors keep their defaults.
     *
     * @param root the module tree (not yet allocated)
     * @param <M> its type
     * @return {@code root}
     */
    public static <M extends Module> M weightsInit(M root) {
        apply(root);
        return root;
    }

    private static void apply(Module m) {
        if (m instanceof Conv2d c) {
            c.getWeight().setInit(normal(0.0, 0.02));
        } else if (m instanceof BatchNorm2d bn) {
            bn.getWeight().setInit(normal(1.0, 0.02));
            bn.getBias().setInit(Init.zeros());
        }
        for (Module child : m.children().values()) {
            apply(child);
        }
    }

    private static Init normal(double mean, double std) {
        return (m, s, d, n) -> {
            try (NDArray r = n.randn(m, s);
                    NDArray scaled = F.mul(r, std)) {
                NDArray out = F.add(scaled, mean);
                if (out.getDataType() == d) {
                    return out;
                }
                try (out) {
                    return out.toType(d, false);
                }
            }
        };
    }

    /**
     * The forward pass {@code main(input)}.
     *
     * @param x images [B, input_nc, H, W]
     * @return patch logits [B, 1, h, w]
     * @throws IllegalArgumentException if {@code x} is not [B, input_nc, H, W] or too small for
     *     the stack of 4x4 convolutions
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != params.inputNc()) {
            throw new IllegalArgumentException(
                    "NLayerDiscriminator expects input [B, " + params.inputNc() + ", H, W], got " + s);
        }
        long h = Math.min(s.get(2), s.get(3));
        for (int i = 0; i < params.nLayers(); i++) {
            h = (h + 2 - 4) / 2 + 1;
        }
        h = h - 1; // stride-1 conv
        if (h - 1 < 1) {
            throw new IllegalArgumentException("NLayerDiscriminator with n_layers=" + params.nLayers()
                    + ": input " + s + " is too small (the output would be empty)");
        }
        return main.forward(x);
    }

    /**
     * The constructor arguments.
     *
     * @return the params
     */
    public Params getParams() {
        return params;
    }

    /**
     * The layer stack ({@code main}).
     *
     * @return the sequential
     */
    public Sequential getMain() {
        return main;
    }
}
