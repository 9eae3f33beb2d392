package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;

/** A module whose forward maps one array to one array; what {@link Sequential} chains. */
public interface UnaryModule {

    /** The forward pass. */
    NDArray forward(NDArray x);
}
