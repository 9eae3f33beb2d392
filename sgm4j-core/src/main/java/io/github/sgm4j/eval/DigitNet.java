package io.github.sgm4j.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.MaxPool2d;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ReLU;
import io.github.sgm4j.nn.UnaryModule;

/**
 * The network of {@link DigitClassifier}: a small LeNet-style CNN for 28 x 28 grey digits, built
 * from sgm4j's {@code nn} layers with the attribute names of its PyTorch twin ({@code
 * src/test/resources/golden-extra/eval/gen_digit_classifier.py}), so its state-dict keys are
 * {@code conv1.weight}, {@code conv1.bias}, {@code conv2.*}, {@code fc1.*}, {@code fc2.*}:
 *
 * <pre>
 * conv1  Conv2d(1, 16, 3)      [B, 1, 28, 28] -> [B, 16, 26, 26], ReLU, MaxPool2d(2) -> [B, 16, 13, 13]
 * conv2  Conv2d(16, 32, 3)     -> [B, 32, 11, 11], ReLU, MaxPool2d(2) -> [B, 32, 5, 5]
 * flatten                      -> [B, 800]
 * fc1    Linear(800, 128)      ReLU
 * fc2    Linear(128, 10)       -> logits [B, 10]
 * </pre>
 *
 * <p>Parameters are initialised like PyTorch's defaults ({@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))}),
 * drawn from the noise source given to {@link #initialize}.
 */
public final class DigitNet extends Module implements UnaryModule {

    /** Input side (MNIST). */
    public static final int SIDE = 28;

    /** Number of classes (digits 0 to 9). */
    public static final int CLASSES = 10;

    private static final int C1 = 16;
    private static final int C2 = 32;
    private static final int HIDDEN = 128;
    /** Side after conv1 (26), pool (13), conv2 (11), pool (5). */
    private static final int FLAT = C2 * 5 * 5;

    private final Conv2d conv1;
    private final Conv2d conv2;
    private final Linear fc1;
    private final Linear fc2;
    private final ReLU relu = new ReLU();
    private final MaxPool2d pool = new MaxPool2d(2, 2);

    /** The network, unallocated (call {@link #initialize} or {@link #attach} and {@link #loadStateDict}). */
    public DigitNet() {
        conv1 = register("conv1", new Conv2d(1, C1, 3, 1, 0));
        conv2 = register("conv2", new Conv2d(C1, C2, 3, 1, 0));
        fc1 = register("fc1", new Linear(FLAT, HIDDEN));
        fc2 = register("fc2", new Linear(HIDDEN, CLASSES));
    }

    /**
     * The logits.
     *
     * @param x images [B, 1, 28, 28] (any scaling; {@link DigitClassifier} feeds MNIST in [-1, 1])
     * @return logits [B, 10]
     * @throws IllegalArgumentException when {@code x} is not [B, 1, 28, 28]
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != 1 || s.get(2) != SIDE || s.get(3) != SIDE) {
            throw new IllegalArgumentException("DigitNet expects images [B, 1, 28, 28], got " + s);
        }
        NDArray h;
        try (NDArray c = conv1.forward(x);
                NDArray r = relu.forward(c)) {
            h = pool.forward(r); // [B, 16, 13, 13]
        }
        try (NDArray in = h;
                NDArray c = conv2.forward(in);
                NDArray r = relu.forward(c)) {
            h = pool.forward(r); // [B, 32, 5, 5]
        }
        try (NDArray in = h;
                NDArray flat = in.reshape(new Shape(s.get(0), FLAT)); // [B, 32, 5, 5] -> [B, 800]
                NDArray f = fc1.forward(flat);
                NDArray r = relu.forward(f)) {
            return fc2.forward(r);
        }
    }
}
