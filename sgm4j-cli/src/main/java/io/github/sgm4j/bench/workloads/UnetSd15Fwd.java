package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * {@code unet-sd15-fwd}: an SD 1.x UNet (sgm class, 1x1-conv projections) forward without
 * gradients; x (2,4,32,32), timesteps [999, 999], context (2,77,768); 360 GFLOP per run.
 */
public class UnetSd15Fwd implements Workload {

    /** The SD 1.x UNet parameters of {@code docs/benchmarks.md}. */
    static final String CONFIG = """
            target: sgm.modules.diffusionmodules.openaimodel.UNetModel
            params:
              in_channels: 4
              out_channels: 4
              model_channels: 320
              attention_resolutions: [4, 2, 1]
              num_res_blocks: 2
              channel_mult: [1, 2, 4, 4]
              num_heads: 8
              transformer_depth: 1
              context_dim: 768
              use_linear_in_transformer: false
            """;

    private UNetModel net;
    private NDArray x;
    private NDArray t;
    private NDArray context;

    private final int latent;
    private final String name;

    /** Creates the workload (built in {@link #setUp}). */
    public UnetSd15Fwd() {
        this(32, "unet-sd15-fwd");
    }

    /**
     * The same forward at another latent size.
     *
     * @param latent latent side (32 for 256x256 images, 64 for 512x512)
     * @param name the workload name
     */
    protected UnetSd15Fwd(int latent, String name) {
        this.latent = latent;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Builds the SD 1.x UNet of this workload, randomly initialised from {@code noise} with {@link
     * LowPeakInit}, in eval mode without gradients.
     *
     * @param manager owns the weights (the caller closes it)
     * @param noise source of the initial weights
     * @return the network (about 860M parameters, 3.4 GB of float32)
     */
    public static UNetModel build(NDManager manager, NoiseSource noise) {
        UNetModel net = new Instantiator().instantiate(ConfigNode.parse(CONFIG, "unet-sd15-fwd"), UNetModel.class);
        LowPeakInit.initialize(net, manager, noise);
        net.eval();
        net.requiresGrad(false);
        return net;
    }

    @Override
    public void setUp(NDManager manager) {
        NoiseSource ns = NoiseSource.seeded(0);
        net = build(manager, ns);
        x = ns.randn(manager, new Shape(2, 4, latent, latent));
        t = Tensors.create(manager, new float[] {999f, 999f});
        context = ns.randn(manager, new Shape(2, 77, 768));
    }

    @Override
    public void runOnce() {
        boolean grad = F.setGradEnabled(false);
        try {
            net.forward(x, t, context, null).close();
        } finally {
            F.setGradEnabled(grad);
        }
    }

    @Override
    public double flops() {
        return 360e9;
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 5;
    }
}
