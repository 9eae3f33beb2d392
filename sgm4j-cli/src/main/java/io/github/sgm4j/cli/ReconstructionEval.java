package io.github.sgm4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.models.AutoencoderKL;
import io.github.sgm4j.models.EngineLoader;
import io.github.sgm4j.modules.distributions.DiagonalGaussianDistribution;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.ImageGrid;
import io.github.sgm4j.train.data.MnistDataset;
import io.github.sgm4j.util.ImageMetrics;
import java.util.Locale;

/** {@code reconstruct --mnist DIR}: PSNR and SSIM of an autoencoder's reconstructions of held-out digits. */
final class ReconstructionEval {

    private ReconstructionEval() {}

    static Integer run(ReconstructCommand c) {
        ConfigNode root = EngineLoader.config(c.config);
        ConfigNode model = EngineLoader.modelNode(root);
        AutoencoderCommand.Geometry g = AutoencoderCommand.geometry(model);
        if (g.channels() != 1) {
            throw Validate.bad(c.spec, c.config + ": the autoencoder takes " + g.channels()
                    + "-channel images; the MNIST digits are grayscale");
        }
        MnistDataset test = MnistDataset.load(c.mnist, false);
        int n = Math.min(c.count, test.size());
        try (NDManager manager = NDManager.newBaseManager(EngineLoader.device(c.device))) {
            boolean prevGrad = F.setGradEnabled(false);
            try {
                return evaluate(c, model, g, test, n, manager);
            } finally {
                F.setGradEnabled(prevGrad);
            }
        }
    }

    private static Integer evaluate(ReconstructCommand c, ConfigNode model, AutoencoderCommand.Geometry g,
            MnistDataset test, int n, NDManager manager) {
        {
            Object built = new Instantiator().instantiate(model);
            if (!(built instanceof AutoencoderKL ae)) {
                throw Validate.bad(c.spec, c.config + ": --mnist evaluates an autoencoder config (model is "
                        + built.getClass().getSimpleName() + ")");
            }
            ae.initialize(manager, new TorchNoiseSource(c.seed));
            ae.loadInferenceWeights(StateDicts.readAll(c.ckpt, manager));
            ae.eval();
            double psnr = 0;
            double ssim = 0;
            double psnr2 = 0;
            int done = 0;
            int batch = 100;
            long t0 = System.nanoTime();
            for (int start = 0; start < n; start += batch) {
                int b = Math.min(batch, n - start);
                int[] idx = new int[b];
                for (int i = 0; i < b; i++) {
                    idx[i] = start + i;
                }
                try (NDScope ignored = new NDScope()) {
                    NDArray x = AutoencoderCommand.pad(test.gather(manager, idx), g.resolution());
                    NDArray rec;
                    try (DiagonalGaussianDistribution post = ae.posterior(x)) {
                        rec = ae.decode(post.getMean());
                    }
                    NDArray x01 = F.mul(F.add(x, 1.0), 0.5);
                    NDArray r01 = F.mul(F.add(rec, 1.0), 0.5).clip(0, 1);
                    float[] xs = x01.toFloatArray();
                    float[] rs = r01.toFloatArray();
                    int px = g.resolution() * g.resolution();
                    for (int i = 0; i < b; i++) {
                        float[] xi = java.util.Arrays.copyOfRange(xs, i * px, (i + 1) * px);
                        float[] ri = java.util.Arrays.copyOfRange(rs, i * px, (i + 1) * px);
                        double p = ImageMetrics.psnr(xi, ri);
                        psnr += p;
                        psnr2 += p * p;
                        ssim += ImageMetrics.ssim(xi, ri, 1, g.resolution(), g.resolution());
                    }
                    if (start == 0 && c.grid != null) {
                        int k = Math.min(16, b);
                        NDArray both = ai.djl.ndarray.NDArrays.concat(new NDList(x.get("0:" + k), rec.get("0:" + k).clip(-1, 1)));
                        ImageGrid.writePng(both, k, c.grid);
                    }
                }
                done += b;
            }
            double meanPsnr = psnr / done;
            double sd = Math.sqrt(Math.max(0, psnr2 / done - meanPsnr * meanPsnr));
            System.out.printf(Locale.ROOT, "MNIST test images: %d; PSNR %.2f dB (sd %.2f); SSIM %.4f (posterior mean, "
                    + "[0,1] range, %dx%d padded; %.1f s)%n", done, meanPsnr, sd, ssim / done, g.resolution(),
                    g.resolution(), (System.nanoTime() - t0) / 1e9);
            if (c.grid != null) {
                System.err.println("wrote " + c.grid);
            }
            return 0;
        }
    }
}
