package io.github.sgm4j.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.nn.F;
import java.util.function.BiFunction;

/** Deliberately borrowing calls, the self-test of {@link BorrowingCallScanner} (never run). */
final class BorrowingFixture {

    private BorrowingFixture() {}

    static NDArray scalarOverload(NDArray x) {
        return x.mul(2f);
    }

    static NDArray staticScalarOverload(NDArray x) {
        return NDArrays.sub(1, x);
    }

    static NDArray createFromJavaData(NDManager m) {
        return m.create(new float[] {1f, 2f});
    }

    static BiFunction<NDArray, Number, NDArray> methodReference() {
        return NDArray::add;
    }

    static NDArray owned(NDManager m, NDArray x) {
        try (NDArray a = Tensors.create(m, new float[] {1f, 2f});
                NDArray b = F.mul(x, 2.0)) {
            return x.clip(0, 1).add(a).mul(b);
        }
    }
}
