package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/** A module whose forward maps one array to one array; what {@link Sequential} chains. */
public interface UnaryModule {

    /**
     * The forward pass.
     *
     * @param x the input
     * @return a new array the caller owns (an alias of {@code x} for pass-through layers)
     */
    NDArray forward(NDArray x);
}
