package io.github.sgm4j.bench.workloads;

/** {@code unet-mnist-fwd-b32}: {@link UnetMnistFwd} at batch 32 (28.50 GFLOP per run). */
public class UnetMnistFwdB32 extends UnetMnistFwd {

    /** Creates the workload (built in {@link #setUp}). */
    public UnetMnistFwdB32() {
        super(32, "unet-mnist-fwd-b32");
    }
}
