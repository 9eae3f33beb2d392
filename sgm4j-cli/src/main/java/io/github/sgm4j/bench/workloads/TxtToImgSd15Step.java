package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DiscreteDenoiser;
import io.github.sgm4j.modules.diffusionmodules.sampling.EulerEDMSampler;
import io.github.sgm4j.modules.diffusionmodules.wrappers.OpenAIWrapper;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.Map;

/**
 * {@code txt2img-sd15-step}: one classifier-free-guided sampling step of SD 1.5 at 512x512 as sgm's
 * {@code SamplingPipeline} runs it: {@code EulerEDMSampler} with one step over {@code
 * LegacyDDPMDiscretization} and {@code VanillaCFG} (scale 7.5) around a {@code DiscreteDenoiser}
 * ({@code EpsScaling}, 1000 indices) and the SD 1.x UNet ({@link UnetSd15Fwd#build}, random weights)
 * behind {@code OpenAIWrapper}: the latents (1,4,64,64) are doubled to (2,4,64,64) for the UNet with
 * the prompt's and the negative prompt's (77,768) contexts, guided and stepped with Euler. One run is
 * one step: the UNet forward of {@code unet-sd15-fwd-512} (1 606.5 GFLOP) plus elementwise work.
 */
public class TxtToImgSd15Step implements Workload {

    /** sgm's {@code sd_2_1.yaml} denoiser, the SD 1.x/2.x schedule. */
    static final String DENOISER = """
            target: sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser
            params:
              num_idx: 1000
              scaling_config:
                target: sgm.modules.diffusionmodules.denoiser_scaling.EpsScaling
              discretization_config:
                target: sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization
            """;

    /** One Euler step with classifier-free guidance at the usual scale. */
    static final String SAMPLER = """
            target: sgm.modules.diffusionmodules.sampling.EulerEDMSampler
            params:
              num_steps: 1
              discretization_config:
                target: sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization
              guider_config:
                target: sgm.modules.diffusionmodules.guiders.VanillaCFG
                params:
                  scale: 7.5
            """;

    private OpenAIWrapper network;
    private DiscreteDenoiser denoiser;
    private EulerEDMSampler sampler;
    private NDArray x;
    private Map<String, NDArray> cond;
    private Map<String, NDArray> uc;

    @Override
    public String name() {
        return "txt2img-sd15-step";
    }

    @Override
    public void setUp(NDManager manager) {
        NoiseSource ns = NoiseSource.seeded(0);
        network = new OpenAIWrapper(UnetSd15Fwd.build(manager, ns));
        network.attach(manager);
        denoiser = new Instantiator().instantiate(ConfigNode.parse(DENOISER, "txt2img-sd15-step denoiser"),
                DiscreteDenoiser.class);
        denoiser.initialize(manager, ns);
        sampler = new Instantiator().instantiate(ConfigNode.parse(SAMPLER, "txt2img-sd15-step sampler"),
                EulerEDMSampler.class);
        x = ns.randn(manager, new Shape(1, 4, 64, 64));
        cond = Map.of("crossattn", ns.randn(manager, new Shape(1, 77, 768)));
        uc = Map.of("crossattn", ns.randn(manager, new Shape(1, 77, 768)));
    }

    @Override
    public void runOnce() {
        boolean grad = F.setGradEnabled(false);
        try {
            sampler.sample((in, sigma, c) -> denoiser.forward(network, in, sigma, c), x, cond, uc, null).close();
        } finally {
            F.setGradEnabled(grad);
        }
    }

    /** The guided batch's UNet forward, {@link UnetSd15Fwd512#flops}. */
    @Override
    public double flops() {
        return 1606.5e9;
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 3;
    }
}
