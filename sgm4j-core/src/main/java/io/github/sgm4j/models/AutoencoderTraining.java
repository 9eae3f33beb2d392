package io.github.sgm4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.optim.AdamW;
import java.util.List;
import java.util.Map;

/**
 * A first-stage autoencoder in training, as one of the references trains it: the autoencoder, its
 * GAN + perceptual loss and the optimizers, behind the calls a training loop makes per batch.
 * Implemented by {@link LdmAutoencoderTrainer} (ldm's {@code AutoencoderKL} under Lightning 1.4: both
 * optimizers every batch) and by sgm's {@code AutoencodingEngine} trainer (one optimizer per batch).
 *
 * <p>{@link #module()} owns the full state dict under the reference's keys ({@code encoder.*}, {@code
 * decoder.*}, {@code loss.*}, ...), which is what a checkpoint holds.
 */
public interface AutoencoderTraining {

    /**
     * The module whose state dict is the checkpoint (autoencoder and loss, reference keys).
     *
     * @return the module
     */
    Module module();

    /**
     * The autoencoder being trained (encode/decode for reconstructions).
     *
     * @return the autoencoder
     */
    AutoencoderKL getAutoencoder();

    /**
     * Creates the optimizers ({@code configure_optimizers}) with the (scaled) learning rate.
     *
     * @param manager owns the optimizer state
     * @param learningRate the model's {@code learning_rate}
     * @return the optimizers, in the reference's order (autoencoder first)
     */
    List<AdamW> configureOptimizers(NDManager manager, double learningRate);

    /**
     * The optimizers created by {@link #configureOptimizers}.
     *
     * @return the optimizers, or an empty list before
     */
    List<AdamW> getOptimizers();

    /**
     * The learning rate the optimizers were created with.
     *
     * @return the learning rate (0 before {@link #configureOptimizers})
     */
    double getLearningRate();

    /**
     * Every parameter some optimizer updates, by full key (checked for finiteness after a batch).
     *
     * @return the parameters
     */
    Map<String, Parameter> trainableParameters();

    /**
     * The global step (the reference's {@code trainer.global_step}).
     *
     * @return the number of completed steps
     */
    long getGlobalStep();

    /**
     * Sets the global step (on resume).
     *
     * @param step the step
     */
    void setGlobalStep(long step);

    /**
     * The keys {@link #trainBatch} may log, in a fixed order (the metrics file's columns).
     *
     * @return the log keys
     */
    List<String> logKeys();

    /**
     * Trains on one batch as the reference does (which optimizers run, with which loss), then
     * advances the global step.
     *
     * @param images the batch [B, C, H, W] in [-1, 1]
     * @param batchIdx the index of the batch in the run (0-based)
     * @param noise the source of every random draw of the step
     * @return the logged values of the batch without the {@code train/} prefix ({@code aeloss},
     *     {@code discloss}, {@code rec_loss}, {@code kl_loss}, {@code d_weight}, ...), as doubles
     * @throws io.github.sgm4j.optim.NonFiniteLossException when a loss is NaN or infinite (nothing
     *     was stepped by that optimizer)
     */
    Map<String, Double> trainBatch(NDArray images, long batchIdx, NoiseSource noise);
}
