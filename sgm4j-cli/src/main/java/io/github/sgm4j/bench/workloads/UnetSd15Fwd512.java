package io.github.sgm4j.bench.workloads;

/**
 * {@code unet-sd15-fwd-512}: {@link UnetSd15Fwd} at the resolution users generate, latents
 * (2,4,64,64) for 512x512 images (self-attention over 4 096 tokens), context (2,77,768).
 */
public class UnetSd15Fwd512 extends UnetSd15Fwd {

    /** Creates the workload (built in {@link #setUp}). */
    public UnetSd15Fwd512() {
        super(64, "unet-sd15-fwd-512");
    }

    /**
     * 1 606.5 GFLOP: convolutions, linear layers and attention matmuls counted on the reference's
     * modules ({@code docs/profiles/count_flops.py}; 360.2 at 32x32, the {@code unet-sd15-fwd} count).
     */
    @Override
    public double flops() {
        return 1606.5e9;
    }

    @Override
    public int runs() {
        return 3;
    }
}
