package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.F;

/**
 * The GAN helpers of {@code sgm.modules.autoencoding.lpips.vqperceptual} / {@code
 * taming.modules.losses.vqperceptual}: the discriminator losses and {@code adopt_weight}.
 */
public final class VqPerceptual {

    private VqPerceptual() {}

    /** A discriminator loss {@code (logits_real, logits_fake) -> 0-d loss}. */
    @FunctionalInterface
    public interface DiscLoss {
        /**
         * Computes the loss.
         *
         * @param logitsReal logits of real inputs
         * @param logitsFake logits of reconstructions
         * @return the 0-d loss
         */
        NDArray apply(NDArray logitsReal, NDArray logitsFake);
    }

    /**
     * {@code hinge_d_loss}: {@code 0.5 * (mean(relu(1 - real)) + mean(relu(1 + fake)))}.
     *
     * @param logitsReal logits of real inputs
     * @param logitsFake logits of reconstructions
     * @return the 0-d loss
     */
    public static NDArray hingeDLoss(NDArray logitsReal, NDArray logitsFake) {
        try (NDArray a = F.rsub(1.0, logitsReal);
                NDArray ra = F.relu(a);
                NDArray lossReal = ra.mean();
                NDArray b = F.add(logitsFake, 1.0);
                NDArray rb = F.relu(b);
                NDArray lossFake = rb.mean();
                NDArray sum = lossReal.add(lossFake)) {
            return F.mul(sum, 0.5);
        }
    }

    /**
     * {@code vanilla_d_loss}: {@code 0.5 * (mean(softplus(-real)) + mean(softplus(fake)))}.
     *
     * @param logitsReal logits of real inputs
     * @param logitsFake logits of reconstructions
     * @return the 0-d loss
     */
    public static NDArray vanillaDLoss(NDArray logitsReal, NDArray logitsFake) {
        try (NDArray neg = logitsReal.neg();
                NDArray sa = F.softplus(neg);
                NDArray a = sa.mean();
                NDArray sb = F.softplus(logitsFake);
                NDArray b = sb.mean();
                NDArray sum = a.add(b)) {
            return F.mul(sum, 0.5);
        }
    }

    /**
     * The discriminator loss by its config name.
     *
     * @param name {@code hinge} or {@code vanilla}
     * @return the loss function
     * @throws IllegalArgumentException for any other name
     */
    public static DiscLoss discLoss(String name) {
        return switch (name) {
            case "hinge" -> VqPerceptual::hingeDLoss;
            case "vanilla" -> VqPerceptual::vanillaDLoss;
            default -> throw new IllegalArgumentException(
                    "disc_loss must be 'hinge' or 'vanilla', got '" + name + "'");
        };
    }

    /**
     * {@code adopt_weight(weight, global_step, threshold, value)}: {@code value} before {@code
     * threshold}, {@code weight} from it on.
     *
     * @param weight the weight from {@code threshold} on
     * @param globalStep the current step
     * @param threshold the first step with {@code weight}
     * @param value the weight before {@code threshold}
     * @return the weight for {@code globalStep}
     */
    public static double adoptWeight(double weight, long globalStep, long threshold, double value) {
        return globalStep < threshold ? value : weight;
    }

    /**
     * {@code adopt_weight(weight, global_step, threshold)} with {@code value = 0}.
     *
     * @param weight the weight from {@code threshold} on
     * @param globalStep the current step
     * @param threshold the first step with {@code weight}
     * @return the weight for {@code globalStep}
     */
    public static double adoptWeight(double weight, long globalStep, long threshold) {
        return adoptWeight(weight, globalStep, threshold, 0.0);
    }
}
