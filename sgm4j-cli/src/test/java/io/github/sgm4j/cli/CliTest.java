package io.github.sgm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.ldm.DDPM;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command-line tool end to end on tiny models: sample (sgm and ldm configs), inspect. */
class CliTest {

    static final String LDM = """
            model:
              target: ldm.models.diffusion.ddpm.DDPM
              params:
                timesteps: 20
                image_size: 8
                channels: 1
                use_ema: false
                unet_config:
                  target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                  params: {image_size: 8, in_channels: 1, out_channels: 1, model_channels: 32,
                           attention_resolutions: [], num_res_blocks: 1, channel_mult: [1], num_head_channels: 32}
            """;

    @TempDir
    Path dir;

    static int run(String... args) {
        return new CommandLine(new Sgm4j()).execute(args);
    }

    @Test
    void sampleAnSgmConfigAndInspectItsCheckpoint() throws Exception {
        Path cfg = Path.of("configs/mnist_tiny.yaml");
        Path ckpt = dir.resolve("tiny.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = new Instantiator().instantiate(ConfigNode.load(cfg).getNode("model"), DiffusionEngine.class);
            e.initialize(m, new TorchNoiseSource(1));
            Checkpoints.save(ckpt, e, 1);
        }
        assertEquals(0, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--n", "4", "--classes", "3,7",
                "--steps", "2", "--cfg", "2.0", "--ema", "--out", dir.resolve("out").toString()));
        assertTrue(Files.size(dir.resolve("out/samples.png")) > 0);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> s = SafeTensors.readAll(dir.resolve("out/samples.safetensors"), m);
            assertEquals(new Shape(4, 1, 28, 28), s.get("images").getShape());
            assertEquals(3L, s.get("labels").toLongArray()[0]);
            assertEquals(7L, s.get("labels").toLongArray()[1]);
        }
        assertEquals(0, run("inspect", ckpt.toString(), "--config", cfg.toString()));
        assertEquals(3, run("inspect", ckpt.toString(), "--config", "configs/mnist_cond_small.yaml"));
    }

    @Test
    void trainAnAutoencoderConfigThenReportPsnrAndSsim() throws Exception {
        Path out = dir.resolve("ae");
        Run t = runCapturing("train", "configs/mnist_autoencoder_kl_f4.yaml", "--steps", "2", "--batch-size", "2",
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("learning rate 2.50e-05 = 1 (accumulate_grad_batches) x 1 (devices) x 2 (batch size)"),
                t.err());
        assertTrue(t.err().contains("LPIPS off"), t.err());
        assertTrue(t.err().contains("disc_start 600 is beyond the run's 2 steps"), t.err());
        java.util.List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size());
        assertTrue(csv.get(0).startsWith("step,lr,aeloss,discloss,total_loss,logvar,kl_loss,nll_loss,rec_loss,d_weight"));
        assertTrue(Files.exists(out.resolve("reconstructions-000002.png")));
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        int code;
        try {
            code = run("reconstruct", "configs/mnist_autoencoder_kl_f4.yaml", "--ckpt",
                    out.resolve("last.safetensors").toString(), "--mnist", "data/mnist", "--count", "20");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        String report = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(report.matches("(?s)MNIST test images: 20; PSNR [0-9.]+ dB \\(sd [0-9.]+\\); SSIM -?[0-9.]+ .*"), report);
        // a grayscale-only data set cannot feed an RGB autoencoder
        Path rgb = dir.resolve("rgb.yaml");
        Files.writeString(rgb, Files.readString(Path.of("configs/mnist_autoencoder_kl_f4.yaml"))
                .replace("in_channels: 1", "in_channels: 3"));
        assertUsageError(runCapturing("train", rgb.toString(), "--steps", "1", "--out", dir.resolve("x").toString()),
                "in_channels", "grayscale");
    }

    /** Issue 13: an ldm LatentDiffusion config trains through the generic trainer and resumes. */
    @Test
    void trainAnLdmLatentDiffusionConfigThenResume() throws Exception {
        Path out = dir.resolve("ldm");
        String cfg = "src/test/resources/ldm-train/cin_ldm_kl_tiny.yaml";
        Run t = runCapturing("train", cfg, "--steps", "1", "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("ldm LatentDiffusion, learning rate 4.00e-04"), t.err());
        Path last = out.resolve("last.safetensors");
        Run r = runCapturing("train", cfg, "--steps", "2", "--resume", last.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resumed from " + last + " at step 1, data position 0:4"), r.err());
        assertEquals(3, Files.readAllLines(out.resolve("metrics.csv")).size());
        assertTrue(Files.exists(out.resolve("samples-000002.png")));
    }

    @Test
    void inspectReadsAPyTorchCheckpoint() {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        int code;
        try {
            code = run("inspect", "src/test/resources/io/torch/lightning.ckpt");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("model.diffusion_model.conv.weight\t[4, 2, 3, 3]\tF32"), out);
        assertTrue(out.contains("model.diffusion_model.conv.bias\t[4]\tF16"), out);
        assertTrue(out.contains("global_step=1234"), out);
    }

    @Test
    void sampleAnLdmConfigWithDdimPlmsAndDdpm() throws Exception {
        Path cfg = dir.resolve("ldm.yaml");
        Files.writeString(cfg, LDM);
        Path ckpt = dir.resolve("ldm.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DDPM d = new Instantiator().instantiate(ConfigNode.parse(LDM, "ldm").getNode("model"), DDPM.class);
            d.initialize(m, new TorchNoiseSource(2));
            SafeTensors.write(ckpt, d.stateDict(), Map.of());
        }
        for (String s : new String[] {"ddim", "plms", "ddpm"}) {
            Path out = dir.resolve(s);
            assertEquals(0, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--n", "2", "--steps", "4",
                    "--sampler", s, "--out", out.toString()), s);
            try (NDManager m = NDManager.newBaseManager()) {
                assertEquals(new Shape(2, 1, 8, 8), SafeTensors.readAll(out.resolve("samples.safetensors"), m)
                        .get("images").getShape(), s);
            }
        }
        assertEquals(2, run("sample", cfg.toString(), "--ckpt", ckpt.toString(), "--sampler", "euler", "--out",
                dir.resolve("bad").toString()));
    }

    /** Exit code and everything printed to stderr by a run through the tool's own command line. */
    record Run(int code, String err) {}

    static Run runCapturing(String... args) {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        java.io.PrintStream ps = new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8);
        System.setErr(ps);
        try {
            CommandLine cl = Sgm4j.commandLine();
            cl.setErr(new java.io.PrintWriter(ps, true));
            int code = cl.execute(args);
            return new Run(code, buf.toString(java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    static void assertUsageError(Run r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "'" + f + "' in: " + r.err());
        }
        assertTrue(!r.err().contains("/ by zero") && !r.err().contains("Exception"), r.err());
    }

    Path tinyCheckpoint(String name) {
        Path ckpt = dir.resolve(name);
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = new Instantiator().instantiate(ConfigNode.load(TINY).getNode("model"), DiffusionEngine.class);
            e.initialize(m, new TorchNoiseSource(1));
            Checkpoints.save(ckpt, e, 1);
        }
        return ckpt;
    }

    static final Path TINY = Path.of("configs/mnist_tiny.yaml");

    /** Issue 10.4: every option is validated before any work, with a message naming it, exit code 2. */
    @Test
    void invalidOptionsAreRejectedBeforeAnyWork() throws Exception {
        String cfg = TINY.toString();
        String ckpt = tinyCheckpoint("tiny.safetensors").toString();
        String out = dir.resolve("out").toString();
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--n", "0", "--out", out), "--n");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--n", "-3", "--out", out), "--n");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--steps", "0", "--out", out), "--steps");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--classes", "1,-2", "--out", out), "--classes");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--device", "tpu", "--out", out), "--device");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", dir.toString(), "--out", out), "--ckpt", "is a directory");
        Path aFile = dir.resolve("a-file");
        Files.writeString(aFile, "x");
        Path under = aFile.resolve("sub");
        assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--out", under.toString()), "--out", under.toString());
        if (Files.isDirectory(Path.of("/proc/self"))) {
            assertUsageError(runCapturing("sample", cfg, "--ckpt", ckpt, "--out", "/proc/x"), "--out", "/proc/x",
                    "cannot create");
        }
        assertUsageError(runCapturing("train", cfg, "--steps", "-5", "--out", out), "--steps");
        assertUsageError(runCapturing("train", cfg, "--steps", "0", "--out", out), "--steps");
        assertUsageError(runCapturing("train", cfg, "--checkpoint-every", "0", "--out", out), "--checkpoint-every");
        assertUsageError(runCapturing("train", cfg, "--image-every", "-1", "--out", out), "--image-every");
        assertUsageError(runCapturing("train", cfg, "--batch-size", "0", "--out", out), "--batch-size");
        assertUsageError(runCapturing("train", cfg, "--data", "no/such/dir", "--out", out), "--data");
        assertUsageError(runCapturing("train", cfg, "--out", under.toString()), "--out", under.toString());
        assertUsageError(runCapturing("train", cfg, "--resume", dir.toString(), "--out", out), "--resume", "is a directory");
        assertUsageError(runCapturing("bench", "--workload", "sgemm-2048", "--runs", "0"), "--runs");
        assertUsageError(runCapturing("inspect", dir.toString()), "is a directory");
        assertTrue(!Files.exists(dir.resolve("out/metrics.csv")), "nothing was started");
    }

    /**
     * Issue 10.3 at the command line: a missing trainer file is refused naming both files, unless
     * --reset-optimizer (which then gets as far as the --steps check).
     */
    @Test
    void resumeWithoutTrainerStateNeedsResetOptimizer() throws Exception {
        Path ckpt = tinyCheckpoint("nostate.safetensors");   // saved before training: no optimizer state
        String out = dir.resolve("out").toString();
        assertUsageError(runCapturing("train", TINY.toString(), "--resume", ckpt.toString(), "--steps", "3", "--out", out),
                "--resume", ckpt.toString(), Checkpoints.trainerFile(ckpt).toString(), "--reset-optimizer");
        assertUsageError(runCapturing("train", TINY.toString(), "--resume", ckpt.toString(), "--reset-optimizer",
                "--steps", "0", "--out", out), "--steps");
    }

    /** Issue 10.4: NaN weights are refused (naming the key) instead of writing NaN images with exit code 0. */
    @Test
    void sampleRefusesNonFiniteWeights() throws Exception {
        Path ckpt = tinyCheckpoint("good.safetensors");
        Path nan = dir.resolve("nan.safetensors");
        String key = "model.diffusion_model.out.2.weight";
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = new java.util.LinkedHashMap<>(SafeTensors.readAll(ckpt, m));
            sd.put(key, sd.get(key).mul(Float.NaN));
            SafeTensors.write(nan, sd, Map.of());
        }
        Path out = dir.resolve("out");
        Run r = runCapturing("sample", TINY.toString(), "--ckpt", nan.toString(), "--n", "2", "--steps", "2",
                "--out", out.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(key) && r.err().contains("NaN"), r.err());
        assertTrue(!Files.exists(out.resolve("samples.png")));
    }

    /**
     * Issue 10.4: a checkpoint without model_ema.* samples with an EMA config when --ema is not
     * given; with --ema it is a clear error.
     */
    @Test
    void checkpointWithoutEmaWeightsSamplesWithoutEma() throws Exception {
        Path ckpt = tinyCheckpoint("full.safetensors");
        Path noEma = dir.resolve("noema.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = new java.util.LinkedHashMap<>(SafeTensors.readAll(ckpt, m));
            assertTrue(sd.keySet().removeIf(k -> k.startsWith("model_ema.")), "test set-up");
            SafeTensors.write(noEma, sd, Map.of());
        }
        assertEquals(0, runCapturing("sample", TINY.toString(), "--ckpt", noEma.toString(), "--n", "2", "--steps", "2",
                "--out", dir.resolve("a").toString()).code());
        assertTrue(Files.exists(dir.resolve("a/samples.png")));
        Run r = runCapturing("sample", TINY.toString(), "--ckpt", noEma.toString(), "--n", "2", "--steps", "2", "--ema",
                "--out", dir.resolve("b").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--ema") && r.err().contains("no EMA weights"), r.err());
    }

    /** Issue 10.4: after --resume the progress bar's speed and ETA count only this run's steps. */
    @Test
    void progressBarStartsFromTheResumedStep() {
        try (me.tongfei.progressbar.ProgressBar pb = TrainCommand.progressBar(100, 40)
                .setConsumer(new me.tongfei.progressbar.DelegatingProgressBarConsumer(s -> { })).build()) {
            assertEquals(40, pb.getCurrent());
            assertEquals(40, pb.getStart(), "rate and ETA are computed from the resumed step");
        }
    }

    /**
     * Issue 10.4: a command is quiet by default (no CUDA probe warnings, no INFO lines); --verbose
     * shows the INFO lines. Runs the tool in a child JVM (slf4j-simple reads its levels once).
     */
    @Test
    void quietByDefaultVerboseOnRequest() throws Exception {
        Path ckpt = tinyCheckpoint("q.safetensors");
        String quiet = child("sample", TINY.toString(), "--ckpt", ckpt.toString(), "--n", "1", "--steps", "1", "--out",
                dir.resolve("q").toString());
        assertTrue(quiet.contains("wrote "), quiet);
        assertTrue(!quiet.contains("CudaUtils") && !quiet.contains("INFO"), quiet);
        String verbose = child("sample", TINY.toString(), "--ckpt", ckpt.toString(), "--n", "1", "--steps", "1", "--out",
                dir.resolve("v").toString(), "--verbose");
        assertTrue(verbose.contains("INFO ai.djl"), verbose);
    }

    static String child(String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), Sgm4j.class.getName()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), text);
        return text;
    }
}
