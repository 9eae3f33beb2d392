package io.github.sgm4j.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.io.SafeTensorsFormatException;
import io.github.sgm4j.models.EngineCheckpoint;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.nn.StateDictException;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.optim.AdamW;
import io.github.sgm4j.optim.TrainingStep;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An MNIST digit classifier independent of the diffusion models it judges: {@link DigitNet} trained
 * from scratch on the MNIST training split with AdamW, used to report how often class-conditional
 * samples show the digit they were asked for.
 *
 * <p>Input scaling: the diffusion models' range, {@code [-1, 1]}, with MNIST scaled as {@link
 * MnistDataset} gives it ({@code u8 / 255 * 2 - 1}: background {@code -1}, ink {@code +1}). Images
 * are {@code [B, 1, 28, 28]}, or {@code [B, 1, 32, 32]} (MNIST padded by 2 pixels on each side,
 * as the latent models' first stage sees it), of which the centre 28 x 28 is classified.
 *
 * <p>Training is a pure function of the {@link Options}: the initial weights are drawn from a
 * {@link TorchNoiseSource} seeded with {@code seed}, and epoch {@code e} visits the training digits
 * in the order {@link MnistDataset#permutation}{@code (seed, e)} (the last incomplete batch of an
 * epoch is dropped), so two trainings with the same options give bit-identical weights on the same
 * machine.
 *
 * <p>The classifier owns an NDManager on the CPU; {@link #close()} frees its weights. Not
 * thread-safe.
 */
public final class DigitClassifier implements AutoCloseable {

    /** Metadata key naming the network in a saved file. */
    public static final String MODEL_KEY = "sgm4j.model";

    /** The value of {@link #MODEL_KEY}. */
    public static final String MODEL_NAME = "DigitClassifier";

    /** Images per forward pass in {@link #accuracy} and {@link #predict}. */
    public static final int EVAL_BATCH = 500;

    /**
     * Training settings.
     *
     * @param steps optimizer steps (batches)
     * @param batchSize digits per batch
     * @param learningRate the peak AdamW learning rate; it decays to 0 along a half cosine over the
     *     steps
     * @param weightDecay AdamW's decoupled weight decay
     * @param seed fixes the initial weights and the order of the training digits
     */
    public record Options(long steps, int batchSize, double learningRate, double weightDecay, long seed) {

        /**
         * Validates the settings.
         *
         * @param steps optimizer steps, at least 1
         * @param batchSize digits per batch, at least 1
         * @param learningRate the peak learning rate, positive and finite
         * @param weightDecay the weight decay, non-negative and finite
         * @param seed any seed
         * @throws IllegalArgumentException when a value is out of range
         */
        public Options {
            if (steps < 1) {
                throw new IllegalArgumentException("classifier training steps must be at least 1, got " + steps);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("classifier batch size must be at least 1, got " + batchSize);
            }
            if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
                throw new IllegalArgumentException("classifier learning rate must be positive, got " + learningRate);
            }
            if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
                throw new IllegalArgumentException("classifier weight decay must be >= 0, got " + weightDecay);
            }
        }

        /**
         * The defaults: 468 steps of 256 digits (two epochs of the 60000 training digits), peak
         * learning rate 5e-3 with cosine decay, weight decay 0.01 (torch's AdamW default), seed 0.
         * Large batches because a step's cost on the CPU is dominated by per-operation overhead at
         * this network size.
         *
         * @return the default options
         */
        public static Options defaults() {
            return new Options(468, 256, 5e-3, 0.01, 0);
        }

        /**
         * These options with another batch size.
         *
         * @param newBatchSize digits per batch, at least 1
         * @return new options
         */
        public Options withBatchSize(int newBatchSize) {
            return new Options(steps, newBatchSize, learningRate, weightDecay, seed);
        }

        /**
         * These options with another step count.
         *
         * @param newSteps optimizer steps, at least 1
         * @return new options
         */
        public Options withSteps(long newSteps) {
            return new Options(newSteps, batchSize, learningRate, weightDecay, seed);
        }

        /**
         * These options with another seed.
         *
         * @param newSeed the seed
         * @return new options
         */
        public Options withSeed(long newSeed) {
            return new Options(steps, batchSize, learningRate, weightDecay, newSeed);
        }

        /**
         * The learning rate of step {@code step}: {@code lr * (1 + cos(pi * step / steps)) / 2}.
         *
         * @param step the 0-based step
         * @return the learning rate
         */
        public double learningRateAt(long step) {
            return learningRate * 0.5 * (1 + Math.cos(Math.PI * step / steps));
        }
    }

    /** Receives the training progress. */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called after every optimizer step.
         *
         * @param step the number of steps done, 1 to {@code total}
         * @param total the number of steps of the run
         * @param loss the batch's cross-entropy loss before the step
         */
        void onStep(long step, long total, double loss);
    }

    private final NDManager manager;
    private final DigitNet net;

    private DigitClassifier(NDManager manager, DigitNet net) {
        this.manager = manager;
        this.net = net;
    }

    /**
     * Trains a classifier from scratch on {@code train} (see the class comment for the data order and
     * the initialisation), on the CPU. Each step runs in its own {@link NDScope}.
     *
     * @param train the training digits (the MNIST training split)
     * @param opts the settings
     * @param progress called after every step, or null
     * @return the trained classifier, in eval mode; the caller closes it
     * @throws IllegalArgumentException when the batch size exceeds the number of digits
     * @throws io.github.sgm4j.optim.NonFiniteLossException when the loss becomes NaN or infinite
     */
    public static DigitClassifier train(MnistDataset train, Options opts, Progress progress) {
        long perEpoch = train.batchesPerEpoch(opts.batchSize());
        NDManager manager = NDManager.newBaseManager(Device.cpu());
        try {
            DigitNet net = new DigitNet();
            net.initialize(manager, new TorchNoiseSource(opts.seed()));
            net.train();
            Map<String, Parameter> params = net.namedParameters();
            NDManager optimizerState = manager.newSubManager();
            AdamW optimizer = new AdamW(params, new AdamW.Params(opts.learningRate(), 0.9, 0.999, 1e-8,
                    opts.weightDecay(), false), optimizerState);
            TrainingStep.requireGradients(params.values());
            int[] order = null;
            long orderEpoch = -1;
            int[] chosen = new int[opts.batchSize()];
            for (long step = 0; step < opts.steps(); step++) {
                long epoch = step / perEpoch;
                if (epoch != orderEpoch) {
                    order = train.permutation(opts.seed(), epoch);
                    orderEpoch = epoch;
                }
                System.arraycopy(order, (int) ((step % perEpoch) * opts.batchSize()), chosen, 0, chosen.length);
                double loss;
                try (NDScope scope = new NDScope()) {
                    Map<String, NDArray> batch = train.gather(manager, chosen);
                    NDArray target = oneHot(manager, batch.get("cls").toLongArray());
                    NDArray x = batch.get("jpg");
                    NDArray lossArray = TrainingStep.forwardBackward(step, () -> crossEntropy(net.forward(x), target),
                            l -> l);
                    loss = lossArray.getFloat();
                    optimizer.setLr(opts.learningRateAt(step));
                    TrainingStep.applyGradients(optimizer, params.values(), null, null);
                    scope.suppressNotUsedWarning();
                }
                if (progress != null) {
                    progress.onStep(step + 1, opts.steps(), loss);
                }
            }
            try (GradMode ignored = GradMode.disabled()) {
                for (Parameter p : params.values()) {
                    p.getArray().setRequiresGradient(false);
                }
            }
            optimizerState.close();
            net.eval();
            return new DigitClassifier(manager, net);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The one-hot targets [B, 10] of the labels. */
    private static NDArray oneHot(NDManager manager, long[] labels) {
        float[] t = new float[labels.length * DigitNet.CLASSES];
        for (int b = 0; b < labels.length; b++) {
            t[b * DigitNet.CLASSES + (int) labels[b]] = 1f;
        }
        return Tensors.create(manager, t, new Shape(labels.length, DigitNet.CLASSES));
    }

    /** {@code F.cross_entropy(logits, labels)} (mean over the batch) from one-hot targets. */
    private static NDArray crossEntropy(NDArray logits, NDArray target) {
        // -(log_softmax(logits) * onehot).sum(1).mean()
        try (NDArray logp = logits.logSoftmax(1);
                NDArray picked = logp.mul(target);
                NDArray perSample = picked.sum(new int[] {1});
                NDArray mean = perSample.mean()) {
            return mean.neg();
        }
    }

    /**
     * Loads a classifier saved by {@link #save} (or any safetensors file with exactly the {@link
     * DigitNet} keys and shapes, e.g. from its PyTorch twin), on the CPU.
     *
     * @param file the safetensors file
     * @return the classifier, in eval mode; the caller closes it
     * @throws ClassifierFileException naming the file (and the keys) when it is missing, not a
     *     safetensors file, names another model in its metadata, lacks a key, has an unexpected key,
     *     a tensor of the wrong shape or a non-finite tensor
     */
    public static DigitClassifier load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ClassifierFileException(file, "digit classifier file not found");
        }
        NDManager manager = NDManager.newBaseManager(Device.cpu());
        try {
            DigitNet net = new DigitNet();
            net.attach(manager);
            try (NDScope ignored = new NDScope();
                    SafeTensorsFile f = SafeTensors.open(file)) {
                String model = f.metadata().get(MODEL_KEY);
                if (model != null && !model.equals(MODEL_NAME)) {
                    throw new ClassifierFileException(file, "metadata " + MODEL_KEY + " is '" + model + "', expected '"
                            + MODEL_NAME + "'");
                }
                Map<String, NDArray> sd = f.loadAll(manager);
                String bad = EngineCheckpoint.firstNonFinite(sd);
                if (bad != null) {
                    throw new ClassifierFileException(file, "tensor '" + bad + "' holds NaN or infinite values");
                }
                net.loadStateDict(sd, true);
            } catch (StateDictException e) {
                throw new ClassifierFileException(file, e.getMessage(), e);
            } catch (SafeTensorsFormatException | UncheckedIOException e) {
                throw new ClassifierFileException(file, "not a readable safetensors file: " + e.getMessage(), e);
            }
            net.eval();
            return new DigitClassifier(manager, net);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Writes the weights to {@code file} atomically ({@link SafeTensors#write}: a temporary file in
     * the same directory, renamed into place), with {@link #MODEL_KEY} and {@code format: pt} in the
     * metadata. The keys are {@link DigitNet}'s ({@code conv1.weight}, ...), loadable into the PyTorch
     * twin with {@code load_state_dict}.
     *
     * @param file the destination; missing parent directories are created
     * @throws UncheckedIOException naming the file when it cannot be written
     */
    public void save(Path file) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(MODEL_KEY, MODEL_NAME);
        SafeTensors.write(file, net.stateDict(), meta);
    }

    /**
     * The network (its weights live in this classifier's manager).
     *
     * @return the network, in eval mode unless changed
     */
    public DigitNet network() {
        return net;
    }

    /**
     * The logits of a batch of images, without autograd.
     *
     * @param images {@code [B, 1, 28, 28]} or {@code [B, 1, 32, 32]} in [-1, 1] (see the class
     *     comment), on any device, any floating-point dtype; not modified
     * @return logits {@code [B, 10]} float32, in the classifier's manager; the caller closes them
     * @throws IllegalArgumentException when the shape is neither
     */
    public NDArray logits(NDArray images) {
        Shape s = checkShape(images);
        try (GradMode ignored = GradMode.disabled();
                NDScope scope = new NDScope()) {
            NDArray x = images.toDevice(manager.getDevice(), false);
            if (x.getDataType() != DataType.FLOAT32) {
                x = x.toType(DataType.FLOAT32, false);
            }
            if (s.get(2) == 32) {
                x = x.get(new NDIndex(":, :, 2:30, 2:30")); // centre crop: the padding of MnistData
            }
            NDArray out = net.forward(x);
            out.attach(manager);
            NDScope.unregister(out);
            scope.suppressNotUsedWarning();
            return out;
        }
    }

    private static Shape checkShape(NDArray images) {
        Shape s = images.getShape();
        if (s.dimension() != 4 || s.get(1) != 1 || s.get(2) != s.get(3) || (s.get(2) != 28 && s.get(2) != 32)) {
            throw new IllegalArgumentException("the digit classifier expects images [B, 1, 28, 28] or [B, 1, 32, 32]"
                    + " in [-1, 1], got " + s);
        }
        return s;
    }

    /**
     * The predicted digits of a batch of images (in chunks of {@value #EVAL_BATCH}).
     *
     * @param images {@code [B, 1, 28, 28]} or {@code [B, 1, 32, 32]} in [-1, 1]; not modified
     * @return the arg-max digit of each image, 0 to 9
     * @throws IllegalArgumentException when the shape is neither
     */
    public int[] predict(NDArray images) {
        Shape s = checkShape(images);
        int b = (int) s.get(0);
        int[] out = new int[b];
        for (int from = 0; from < b; from += EVAL_BATCH) {
            int to = Math.min(b, from + EVAL_BATCH);
            try (NDScope ignored = new NDScope()) {
                NDArray chunk = images.get(new NDIndex(from + ":" + to));
                long[] arg;
                try (NDArray logits = logits(chunk);
                        NDArray max = logits.argMax(1)) {
                    arg = max.toLongArray();
                }
                for (int i = 0; i < arg.length; i++) {
                    out[from + i] = (int) arg[i];
                }
            }
        }
        return out;
    }

    /**
     * The fraction of {@code test}'s digits classified correctly.
     *
     * @param test the digits (the MNIST test split)
     * @return the accuracy in [0, 1]
     */
    public double accuracy(MnistDataset test) {
        return accuracy(test, test.size());
    }

    /**
     * The fraction of the first {@code count} digits of {@code test} classified correctly.
     *
     * @param test the digits
     * @param count how many, from index 0; in [1, {@code test.size()}]
     * @return the accuracy in [0, 1]
     * @throws IllegalArgumentException when {@code count} is out of range
     */
    public double accuracy(MnistDataset test, int count) {
        if (count < 1 || count > test.size()) {
            throw new IllegalArgumentException("count must be in [1, " + test.size() + "], got " + count);
        }
        long correct = 0;
        for (int from = 0; from < count; from += EVAL_BATCH) {
            int to = Math.min(count, from + EVAL_BATCH);
            int[] idx = new int[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = from + i;
            }
            try (NDScope ignored = new NDScope()) {
                int[] pred = predict(test.gather(manager, idx).get("jpg"));
                for (int i = 0; i < idx.length; i++) {
                    if (pred[i] == test.label(idx[i])) {
                        correct++;
                    }
                }
            }
        }
        return (double) correct / count;
    }

    /** Frees the weights. */
    @Override
    public void close() {
        manager.close();
    }
}
