package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.models.AutoencoderTrainers;
import io.github.sgm4j.models.AutoencoderTraining;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.train.AutoencoderRun;
import io.github.sgm4j.train.Trainer;
import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;

/** The autoencoder branch of {@code sgm4j train}: ldm/sgm first-stage configs on MNIST. */
final class AutoencoderCommand {

    private AutoencoderCommand() {}

    /**
     * The first-stage geometry a config expects.
     *
     * @param channels input channels
     * @param resolution image side
     */
    record Geometry(int channels, int resolution) {}

    /** {@code ddconfig} (ldm) or {@code encoder_config.params} (sgm) of a model section. */
    static Geometry geometry(ConfigNode model) {
        ConfigNode p = model.getNodeOrEmpty("params");
        ConfigNode dd = p.isNode("ddconfig") ? p.getNode("ddconfig")
                : p.isNode("encoder_config") ? p.getNode("encoder_config").getNodeOrEmpty("params") : null;
        if (dd == null) {
            throw new ConfigException(p.path(), "no ddconfig / encoder_config: cannot tell the image size");
        }
        return new Geometry(dd.getInt("in_channels"), dd.getInt("resolution"));
    }

    /**
     * MNIST batches padded with the background value (-1) to the autoencoder's resolution.
     *
     * @param data the dataset
     * @param side the resolution (28 or more)
     * @return the batch source
     */
    static AutoencoderRun.Batches mnistBatches(MnistDataset data, int side) {
        return (m, step, bs, seed) -> pad(data.batch(m, step, bs, seed), side);
    }

    static NDArray pad(Map<String, NDArray> batch, int side) {
        NDArray x = batch.get("jpg");
        batch.get("cls").close();
        int p = (side - MnistDataset.SIDE) / 2;
        if (p == 0) {
            return x;
        }
        try (x) {
            return x.pad(new Shape(p, side - MnistDataset.SIDE - p, p, side - MnistDataset.SIDE - p), -1.0);
        }
    }

    static Integer train(TrainCommand c, ConfigNode root) throws Exception {
        ConfigNode model = EngineLoader.modelNode(root);
        Geometry g = geometry(model);
        if (g.channels() != 1) {
            throw Validate.bad(c.spec, c.config + ": the autoencoder takes " + g.channels() + "-channel images "
                    + "(ddconfig.in_channels) but the MNIST digits are grayscale (1 channel)");
        }
        if (g.resolution() < MnistDataset.SIDE) {
            throw Validate.bad(c.spec, c.config + ": ddconfig.resolution " + g.resolution() + " is below MNIST's 28");
        }
        int bs = c.batchSize != null ? c.batchSize : TrainCommand.dataBatchSize(root, 12);
        Path outDir = c.out != null ? c.out : Path.of("runs", c.config.getFileName().toString().replaceAll("\\.ya?ml$", ""));
        Validate.outputDirectory(c.spec, c.out != null ? "--out" : "output directory (--out)", outDir);
        MnistDataset train = MnistDataset.load(c.data, true);
        MnistDataset test = MnistDataset.load(c.data, false);
        long total = c.steps != null ? c.steps : TrainCommand.trainerSteps(root, train.batchesPerEpoch(bs), 2000);
        long ckptEvery = c.checkpointEvery != null ? c.checkpointEvery : TrainCommand.lightningInt(root, "modelcheckpoint", 500);
        long imgEvery = c.imageEvery != null ? c.imageEvery : TrainCommand.lightningInt(root, "image_logger", 500);
        long discStart = discStart(model);
        if (discStart > total) {
            System.err.printf("warning: %s: disc_start %d is beyond the run's %d steps: the discriminator never trains%n",
                    c.config, discStart, total);
        }
        if (AutoencoderTrainers.accumulateGradBatches(root) > 1) {
            System.err.println("warning: lightning.trainer.accumulate_grad_batches is not applied by this build "
                    + "(the learning rate is scaled by it, as the reference's main.py does)");
        }
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(c.device))) {
            double lr = AutoencoderTrainers.learningRate(root, bs, 1, !c.noScaleLr);
            double base = model.getDouble("base_learning_rate", 4.5e-6);
            int acc = AutoencoderTrainers.accumulateGradBatches(root);
            System.err.println(c.noScaleLr ? String.format(Locale.ROOT, "learning rate %.2e (base_learning_rate, not scaled)", lr)
                    : String.format(Locale.ROOT, "learning rate %.2e = %d (accumulate_grad_batches) x 1 (devices) x %d "
                            + "(batch size) x %.2e (base_learning_rate)", lr, acc, bs, base));
            double pw = lossParams(model).getDouble("perceptual_weight", 1.0);
            System.err.println(pw > 0 ? "LPIPS on (perceptual_weight " + pw + ")"
                    : "LPIPS off (perceptual_weight 0): reconstruction loss is L1 only");
            AutoencoderTraining t = AutoencoderTrainers.build(model, manager, c.seed, lr);
            long runSeed = c.seed;
            if (c.resume != null) {
                Validate.file(c.spec, "--resume", c.resume);
                Long saved = AutoencoderRun.resume(c.resume, t);
                if (saved != null) {
                    runSeed = saved;
                }
                if (t.getGlobalStep() >= total) {
                    throw Validate.bad(c.spec, "--steps " + total + ": the checkpoint " + c.resume + " is already at step "
                            + t.getGlobalStep() + "; pass a larger --steps to train longer");
                }
                System.err.printf("resumed from %s at step %d%n", c.resume, t.getGlobalStep());
            }
            int[] held = new int[8];
            for (int i = 0; i < held.length; i++) {
                held[i] = i;
            }
            NDArray grid = pad(test.gather(manager, held), g.resolution());
            AutoencoderRun run = new AutoencoderRun(t, mnistBatches(train, g.resolution()), grid,
                    new AutoencoderRun.Options(total, bs, outDir, ckptEvery, imgEvery, runSeed));
            StopHook stop = StopHook.install(run::requestStop);
            AutoencoderRun.Result result;
            try (ProgressBar pb = TrainCommand.progressBar(total, t.getGlobalStep()).build()) {
                result = run.run(new AutoencoderRun.Listener() {
                    @Override
                    public void onStep(long step, Map<String, Double> log) {
                        pb.stepTo(step);
                        pb.setExtraMessage(String.format(Locale.ROOT, " rec %.4f g %.3f d %.3f",
                                log.getOrDefault("rec_loss", Double.NaN), log.getOrDefault("g_loss", Double.NaN),
                                log.getOrDefault("disc_loss", Double.NaN)));
                    }

                    @Override
                    public void message(String text) {
                        System.err.println("\n" + text);
                    }
                });
            } catch (Trainer.DivergedException e) {
                System.err.println("\n" + e.getMessage());
                return 2;
            } finally {
                stop.finished();
            }
            stop.remove();
            System.err.printf(Locale.ROOT, "%s at step %d, rec_loss %.4f, checkpoint %s%n",
                    result.stoppedEarly() ? "stopped" : "finished", result.finalStep(),
                    result.lastLog().getOrDefault("rec_loss", Double.NaN), result.lastCheckpoint());
            return 0;
        }
    }

    static long discStart(ConfigNode model) {
        return lossParams(model).getLong("disc_start", 0);
    }

    static ConfigNode lossParams(ConfigNode model) {
        ConfigNode p = model.getNodeOrEmpty("params");
        ConfigNode loss = p.isNode("lossconfig") ? p.getNode("lossconfig") : p.getNodeOrEmpty("loss_config");
        return loss.getNodeOrEmpty("params");
    }
}
