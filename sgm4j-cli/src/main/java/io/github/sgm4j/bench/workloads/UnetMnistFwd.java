package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.openaimodel.UNetModel;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;

/**
 * {@code unet-mnist-fwd}: the UNet of sgm's {@code configs/example_training/toy/mnist_cond.yaml}
 * ({@code network_config}) forward without gradients; x (64,1,28,28), float timesteps (64,), y
 * (64,128); 57.0 GFLOP per run.
 */
public class UnetMnistFwd implements Workload {

    /** The {@code network_config} of {@code mnist_cond.yaml}. */
    static final String CONFIG = """
            target: sgm.modules.diffusionmodules.openaimodel.UNetModel
            params:
              in_channels: 1
              out_channels: 1
              model_channels: 32
              attention_resolutions: []
              num_res_blocks: 4
              channel_mult: [1, 2, 2]
              num_head_channels: 32
              num_classes: sequential
              adm_in_channels: 128
            """;

    private UNetModel net;
    private NDArray x;
    private NDArray t;
    private NDArray y;
    private final int batch;
    private final String name;

    /** Creates the workload at batch 64 (built in {@link #setUp}). */
    public UnetMnistFwd() {
        this(64, "unet-mnist-fwd");
    }

    /**
     * The same forward at another batch size.
     *
     * @param batch the batch size
     * @param name the workload name
     */
    protected UnetMnistFwd(int batch, String name) {
        this.batch = batch;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void setUp(NDManager manager) {
        net = new Instantiator().instantiate(ConfigNode.parse(CONFIG, "unet-mnist-fwd"), UNetModel.class);
        NoiseSource ns = NoiseSource.seeded(0);
        LowPeakInit.initialize(net, manager, ns);
        net.eval();
        net.requiresGrad(false);
        x = ns.randn(manager, new Shape(batch, 1, 28, 28));
        t = ns.randn(manager, new Shape(batch));
        y = ns.randn(manager, new Shape(batch, 128));
    }

    @Override
    public void runOnce() {
        boolean grad = F.setGradEnabled(false);
        try {
            net.forward(x, t, (NDArray) null, y).close();
        } finally {
            F.setGradEnabled(grad);
        }
    }

    @Override
    public double flops() {
        return 57.0e9 * batch / 64;
    }

    @Override
    public int runs() {
        return 10;
    }
}
