package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.bench.Workload;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code train-ldm-step}: one training step of a small class-conditional latent diffusion model
 * (the bundled {@code train_ldm_step.yaml}: a DiffusionEngine with a frozen kl-f8 AutoencoderKL first
 * stage at a quarter of SD's width, scale_factor 0.18215, DDPM loss, a 128-channel UNet with
 * cross-attention on the class embedding) on batch 16 of 256x256 images (32x32 latents): first-stage
 * encoding (no grad), conditioner (ucg draws), sigma sampling, noise, denoiser + UNet, loss,
 * backward, AdamW (lr 1e-4), zero grads. Random init (seed 0); 1 warm-up and 3 timed runs.
 */
public class TrainLdmStep implements Workload {

    /** Classpath resource of the model configuration (the reference side loads the same file). */
    public static final String CONFIG = "/io/github/sgm4j/bench/train_ldm_step.yaml";

    private final int batchSize;
    private final int side;
    private final String yaml;
    private DiffusionEngine engine;
    private TorchNoiseSource noise;
    private Map<String, NDArray> batch;
    private double lastLoss = Double.NaN;

    /** The benchmark's shapes: batch 16 of 256x256 images. */
    public TrainLdmStep() {
        this(16, 256, bundledYaml());
    }

    /**
     * Another configuration at other input shapes (tests use a narrower model on tiny inputs).
     *
     * @param batchSize images per step, at least 1
     * @param side image height and width, a positive multiple of 32 (8 for the first stage times 4
     *     for the UNet's two down-samplings)
     * @param yaml the configuration text, with the layout of {@link #bundledYaml()}
     * @throws IllegalArgumentException when a value is out of range
     */
    public TrainLdmStep(int batchSize, int side, String yaml) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (side < 32 || side % 32 != 0) {
            throw new IllegalArgumentException("image side must be a positive multiple of 32, got " + side);
        }
        this.batchSize = batchSize;
        this.side = side;
        this.yaml = yaml;
    }

    @Override
    public String name() {
        return "train-ldm-step";
    }

    /**
     * The bundled configuration text ({@value #CONFIG}).
     *
     * @return the YAML text
     * @throws UncheckedIOException when the resource cannot be read
     */
    public static String bundledYaml() {
        try (InputStream in = TrainLdmStep.class.getResourceAsStream(CONFIG)) {
            if (in == null) {
                throw new IOException("classpath resource " + CONFIG + " not found");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + CONFIG + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void setUp(NDManager manager) {
        ConfigNode model = ConfigNode.parse(yaml, "train_ldm_step.yaml").getNode("model");
        engine = new Instantiator().instantiate(model, DiffusionEngine.class);
        engine.setLearningRate(1e-4);
        noise = new TorchNoiseSource(0);
        engine.initialize(manager, noise);
        batch = new LinkedHashMap<>();
        batch.put("jpg", F.sub(F.mul(noise.rand(manager, new Shape(batchSize, 3, side, side)), 2), 1));
        batch.put("cls", noise.randint(manager, 0, 1000, new Shape(batchSize)).toType(DataType.INT64, false));
        float[] original = new float[2 * batchSize];
        for (int i = 0; i < batchSize; i++) {
            original[2 * i] = side * 1.25f;
            original[2 * i + 1] = side * 1.5625f;
        }
        batch.put("original_size_as_tuple", Tensors.create(manager, original, new Shape(batchSize, 2)));
        batch.put("crop_coords_top_left",
                noise.randint(manager, 0, side / 4 + 1, new Shape(batchSize, 2)).toType(DataType.FLOAT32, false));
    }

    @Override
    public void runOnce() {
        lastLoss = engine.trainStep(batch, noise).loss();
    }

    /**
     * The loss of the last step.
     *
     * @return the mean loss, NaN before the first step
     */
    public double lastLoss() {
        return lastLoss;
    }

    /**
     * The engine, after {@link #setUp}.
     *
     * @return the engine, or null before set-up
     */
    public DiffusionEngine engine() {
        return engine;
    }

    /**
     * The input shape of one step.
     *
     * @return {@code [batch, 3, side, side]}
     */
    public long[] inputShape() {
        return new long[] {batchSize, 3, side, side};
    }

    /**
     * Counted for the bundled model at batch 16 of 256x256 (conv, linear and attention matmuls, 2 per
     * multiply-add, by forward hooks on the reference): first-stage encoder forward 280.8 GFLOP, UNet
     * forward 97.7 GFLOP, backward taken as twice the forward: 280.8 + 3 x 97.7 = 574 GFLOP.
     *
     * @return 5.74e11 for the benchmark's configuration, else 0 (not counted)
     */
    @Override
    public double flops() {
        return batchSize == 16 && side == 256 && yaml.equals(bundledYaml()) ? 5.74e11 : 0;
    }

    @Override
    public int warmup() {
        return 1;
    }

    @Override
    public int runs() {
        return 3;
    }
}
