package io.github.sgm4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.models.SampleOptions;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.ClassEmbedder;
import io.github.sgm4j.nn.Parameter;
import io.github.sgm4j.noise.NoiseSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * sgm's {@link DiffusionEngine} as a {@link TrainableModel}: pixel-space engines ({@code
 * IdentityFirstStage}) and latent ones (a frozen {@code AutoencoderKL} first stage with {@code
 * scale_factor}; the batch images are encoded on the fly, {@code en_and_decode_n_samples_a_time} at
 * a time). Gradient clipping is the engine's ({@link DiffusionEngine#setGradClipNorm}).
 */
public final class EngineTraining implements TrainableModel {

    private final DiffusionEngine engine;

    /**
     * Adapts {@code engine}.
     *
     * @param engine the engine, with a loss function and its parameters initialised
     * @throws IllegalArgumentException when the engine has no {@code loss_fn_config}
     */
    public EngineTraining(DiffusionEngine engine) {
        if (engine.getLossFn() == null) {
            throw new IllegalArgumentException("model.params has no loss_fn_config, so the DiffusionEngine cannot be trained");
        }
        this.engine = engine;
    }

    /**
     * The adapted engine.
     *
     * @return the engine
     */
    public DiffusionEngine engine() {
        return engine;
    }

    @Override
    public NDManager getManager() {
        return engine.getManager();
    }

    @Override
    public long getGlobalStep() {
        return engine.getGlobalStep();
    }

    @Override
    public String inputKey() {
        return engine.getParams().inputKey();
    }

    @Override
    public List<String> conditioningKeys() {
        List<String> keys = new ArrayList<>();
        for (AbstractEmbModel e : engine.getConditioner().getEmbedders()) {
            if (e.getInputKey() != null) {
                keys.add(e.getInputKey());
            } else if (e.getInputKeys() != null) {
                keys.addAll(e.getInputKeys());
            }
        }
        return keys.stream().distinct().toList();
    }

    @Override
    public int numClasses() {
        for (AbstractEmbModel e : engine.getConditioner().getEmbedders()) {
            if ("cls".equals(e.getInputKey())) {
                return e instanceof ClassEmbedder c ? c.params().nClasses() : 0;
            }
        }
        return 0;
    }

    @Override
    public int downsamplingFactor() {
        if (engine.getFirstStageModel() instanceof AutoencoderKL vae) {
            return vae.getDDConfig().downsamplingFactor();
        }
        return 1;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return engine.trainableParameters();
    }

    @Override
    public StepLoss forwardBackward(Map<String, ?> batch, NoiseSource noise, double lossScale) {
        DiffusionEngine.LossResult r = engine.forwardBackward(batch, noise, lossScale);
        return new StepLoss(r.loss(), Map.of());
    }

    @Override
    public void onMicroBatchEnd() {
        engine.onTrainBatchEnd();
    }

    @Override
    public double optimizerStep() {
        return engine.optimizerStep();
    }

    @Override
    public void save(Path checkpoint, long seed, Map<String, String> metadata) {
        Checkpoints.save(checkpoint, engine, seed, metadata);
    }

    @Override
    public NDArray sample(Map<String, Object> conditioning, int n, int imageSize, long seed) {
        SampleOptions o = SampleOptions.defaults().withSeed(seed).withEma(engine.getModelEma() != null)
                .withImageSize(imageSize);
        return engine.sample(conditioning, n, o);
    }
}
