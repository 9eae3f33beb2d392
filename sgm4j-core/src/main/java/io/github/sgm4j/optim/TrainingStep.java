package io.github.sgm4j.optim;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.GradMode;
import io.github.sgm4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The training-step skeleton shared by sgm's {@code DiffusionEngine} and ldm's {@code DDPM}: the
 * forward/backward under a libtorch gradient collector with the NaN/inf loss check ({@link
 * NonFiniteLossException}), and the no-grad optimizer update (optional global-norm clipping, {@code
 * opt.step()}, gradients zeroed, the model's {@code on_train_batch_end} hook such as the EMA
 * update). The models keep what differs between them: how the loss is computed, which parameters
 * are trained and how the learning rate is scheduled.
 */
public final class TrainingStep {

    private TrainingStep() {}

    /**
     * Marks every parameter as requiring a gradient (those that already have a gradient buffer are
     * left alone, so accumulated gradients survive).
     *
     * @param params the trainable parameters
     */
    public static void requireGradients(Collection<Parameter> params) {
        for (Parameter p : params) {
            if (!p.getArray().hasGradient()) {
                p.getArray().setRequiresGradient(true);
            }
        }
    }

    /**
     * {@code loss = forward(); loss.backward()}: runs {@code forward} under a gradient collector
     * (autograd on for the call, on any thread), reads the scalar loss, refuses a NaN or infinite
     * one and back-propagates it. Gradients are accumulated on the leaves that require them.
     *
     * @param <T> what the forward returns (the loss and anything the caller logs)
     * @param step the current global step, for the exception message
     * @param forward computes the forward pass
     * @param scalarLoss selects the 0-d loss to back-propagate from the forward's result
     * @return the forward's result
     * @throws NonFiniteLossException when the loss is NaN or infinite (no gradient is computed)
     */
    public static <T> T forwardBackward(long step, Supplier<T> forward, Function<T, NDArray> scalarLoss) {
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            T result = forward.get();
            NDArray loss = scalarLoss.apply(result);
            double value = loss.getFloat();
            if (!Double.isFinite(value)) {
                throw new NonFiniteLossException(step, value);
            }
            gc.backward(loss);
            return result;
        }
    }

    /**
     * Applies the accumulated gradients with autograd explicitly off (in-place updates of leaves
     * that require grad, on any thread): optional clipping of the global gradient norm, {@code
     * optimizer.step()}, gradients zeroed, then {@code afterStep} (e.g. the EMA update).
     *
     * @param optimizer the optimizer over {@code params}, its learning rate already set
     * @param params the trainable parameters (clipped and zeroed)
     * @param clipNorm the maximum global gradient norm, or null for no clipping
     * @param afterStep run after the update inside the no-grad scope ({@code on_train_batch_end}),
     *     or null
     */
    public static void applyGradients(AdamW optimizer, Collection<Parameter> params, Double clipNorm,
            Runnable afterStep) {
        try (GradMode ignored = GradMode.disabled()) {
            if (clipNorm != null) {
                clipGradNorm(params, clipNorm);
            }
            optimizer.step();
            zeroGrads(params);
            if (afterStep != null) {
                afterStep.run();
            }
        }
    }

    /**
     * Zeroes the gradient of every parameter ({@code optimizer.zero_grad()}).
     *
     * @param params the parameters
     */
    public static void zeroGrads(Collection<Parameter> params) {
        for (Parameter p : params) {
            F.zeroGrad(p.getArray());
        }
    }

    /**
     * {@code clip_grad_norm_(params, maxNorm)}: scales every gradient by {@code maxNorm / (norm +
     * 1e-6)} when that factor is below 1, {@code norm} being the L2 norm over all gradients (summed
     * in double precision).
     *
     * @param params the parameters whose gradients are clipped (those without a gradient are skipped)
     * @param maxNorm the maximum norm
     */
    public static void clipGradNorm(Collection<Parameter> params, double maxNorm) {
        double total = 0;
        List<NDArray> grads = new ArrayList<>();
        for (Parameter p : params) {
            NDArray a = p.getArray();
            if (a.hasGradient()) {
                NDArray g = a.getGradient();
                grads.add(g);
                try (NDArray sq = g.square(); NDArray s = sq.sum()) {
                    total += s.getFloat();
                }
            }
        }
        double norm = Math.sqrt(total);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (NDArray g : grads) {
                F.muli(g, coef);
            }
        }
    }
}
