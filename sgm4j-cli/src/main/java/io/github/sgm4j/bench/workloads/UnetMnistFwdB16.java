package io.github.sgm4j.bench.workloads;

/** {@code unet-mnist-fwd-b16}: {@link UnetMnistFwd} at batch 16 (14.25 GFLOP per run). */
public class UnetMnistFwdB16 extends UnetMnistFwd {

    /** Creates the workload (built in {@link #setUp}). */
    public UnetMnistFwdB16() {
        super(16, "unet-mnist-fwd-b16");
    }
}
