package io.github.sgm4j.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Shape helpers of sgm's {@code sgm/util.py}. */
public final class Dims {

    private Dims() {}

    /**
     * {@code append_dims(x, target_dims)}: appends trailing singleton dimensions.
     *
     * @param x the array, e.g. per-sample sigmas [B]
     * @param targetDims the number of dimensions wanted
     * @return a view of {@code x} with shape {@code x.shape + (1,) * (targetDims - x.ndim)}
     * @throws IllegalArgumentException if {@code x} already has more than {@code targetDims} dims
     */
    public static NDArray appendDims(NDArray x, int targetDims) {
        int nd = x.getShape().dimension();
        if (nd > targetDims) {
            throw new IllegalArgumentException(
                    "input has " + nd + " dims but target_dims is " + targetDims + ", which is less");
        }
        long[] shape = new long[targetDims];
        long[] src = x.getShape().getShape();
        for (int i = 0; i < targetDims; i++) {
            shape[i] = i < nd ? src[i] : 1;
        }
        return x.reshape(new Shape(shape));
    }
}
