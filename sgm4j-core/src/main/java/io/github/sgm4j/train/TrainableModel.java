package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the {@link Trainer} needs of a diffusion model: a Lightning-style split of the training step
 * into gradient accumulation over micro-batches and one optimizer step, a checkpoint writer, and a
 * sampler for the periodic sample grids. {@link EngineTraining} adapts sgm's {@code
 * DiffusionEngine}; {@code LdmTraining} adapts ldm's {@code LatentDiffusion}.
 *
 * <p>The trainer calls, for every optimizer step with {@code k = accumulate_grad_batches}: {@code
 * k} times {@link #forwardBackward} (loss scaled by {@code 1/k}, as Lightning does), with {@link
 * #onMicroBatchEnd()} after each of the first {@code k - 1} (Lightning runs {@code
 * on_train_batch_end} after every batch, also those that only accumulate), then {@link
 * #optimizerStep()} (clipping, update, the scheduler, {@code on_train_batch_end}, global step + 1).
 */
public interface TrainableModel {

    /**
     * The loss of one micro-batch.
     *
     * @param loss the mean loss (before the accumulation scale)
     * @param logs further logged values by name (e.g. {@code train/loss_simple}), possibly empty
     */
    record StepLoss(double loss, Map<String, Double> logs) {}

    /**
     * The manager that owns the model's arrays (batches are created in it, inside a scope).
     *
     * @return the manager
     */
    NDManager getManager();

    /**
     * Optimizer steps taken so far ({@code global_step}).
     *
     * @return the global step
     */
    long getGlobalStep();

    /**
     * The key of the images in a batch ({@code input_key} / {@code first_stage_key}).
     *
     * @return the key, e.g. {@code jpg} or {@code image}
     */
    String inputKey();

    /**
     * The batch keys the conditioning reads (besides the images), for the sample grids.
     *
     * @return the keys, possibly empty
     */
    List<String> conditioningKeys();

    /**
     * The number of classes of the class conditioning, when the model is class-conditional.
     *
     * @return the class count, or 0 when no conditioning reads {@code cls}
     */
    int numClasses();

    /**
     * The first stage's downsampling factor: the images' side must be a multiple of it.
     *
     * @return 1 for pixel-space models, e.g. 8 for an f8 autoencoder
     */
    int downsamplingFactor();

    /**
     * The parameters the optimizer updates (checked for NaN and infinity after every update).
     *
     * @return the parameters by name
     */
    Map<String, Parameter> trainableParameters();

    /**
     * {@code training_step} and {@code (loss * lossScale).backward()}: gradients accumulate on the
     * trainable parameters until {@link #optimizerStep()}.
     *
     * @param batch the batch by key: arrays, and lists of captions for text conditionings
     * @param noise the source of every draw of the micro-batch
     * @param lossScale the factor applied to the loss before the backward pass ({@code
     *     1/accumulate_grad_batches})
     * @return the loss and logged values (plain values)
     * @throws io.github.sgm4j.optim.NonFiniteLossException when the loss is NaN or infinite
     */
    StepLoss forwardBackward(Map<String, ?> batch, NoiseSource noise, double lossScale);

    /** {@code on_train_batch_end} of a micro-batch that only accumulated gradients (the EMA update). */
    void onMicroBatchEnd();

    /**
     * Applies the accumulated gradients (clipping, learning-rate schedule, update, zeroing, {@code
     * on_train_batch_end}) and advances the global step.
     *
     * @return the learning rate used
     */
    double optimizerStep();

    /**
     * Writes a checkpoint pair (weights with the reference's keys; trainer state) atomically.
     *
     * @param checkpoint the model file
     * @param seed the run seed to record
     * @param metadata further entries for both files' metadata (e.g. the data position)
     * @throws Checkpoints.NonFiniteTensorException (before anything is written) when a tensor holds
     *     NaN or infinity
     */
    void save(Path checkpoint, long seed, Map<String, String> metadata);

    /**
     * Samples images for a grid, decoded to pixels, in the EMA scope when the model keeps an EMA.
     *
     * @param conditioning the conditioning inputs by key (arrays with {@code n} rows, label lists,
     *     caption lists)
     * @param n the number of images
     * @param imageSize the pixel side of the images (the latent side follows from the first stage)
     * @param seed the seed of the sampling noise
     * @return the images {@code (n, C, H, W)}, nominally in [-1, 1], attached to the model's manager
     *     and the innermost open scope
     */
    NDArray sample(Map<String, Object> conditioning, int n, int imageSize, long seed);
}
