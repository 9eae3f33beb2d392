package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;

/** Port of {@code TimestepBlock}: a block whose forward also takes the timestep embedding. */
public interface TimestepBlock {

    /**
     * @param x [B, C, H, W]
     * @param emb [B, emb_channels]
     * @return the block output
     */
    NDArray forward(NDArray x, NDArray emb);
}
