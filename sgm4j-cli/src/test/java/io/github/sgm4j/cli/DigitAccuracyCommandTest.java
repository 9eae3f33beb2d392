package io.github.sgm4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.train.Checkpoints;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sgm4j digit-accuracy} end to end on the tiny MNIST engine ({@code configs/mnist_tiny.yaml},
 * random weights) and a small MNIST copy (the first 256 training and 100 test digits), with a
 * classifier trained for a few steps: first trained and saved because the file is missing, then
 * loaded from that file.
 */
class DigitAccuracyCommandTest {

    @TempDir
    Path dir;

    /** Exit code, standard output and standard error of one run. */
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        System.setOut(o);
        System.setErr(e);
        try {
            CommandLine cl = Sgm4j.commandLine();
            cl.setErr(new PrintWriter(e, true));
            cl.setOut(new PrintWriter(o, true));
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The first {@code n} digits of one split of the repository's MNIST, written as raw IDX files. */
    static void writeMnist(Path out, boolean train, int n) throws IOException {
        MnistDataset src = MnistDataset.load(Path.of("data/mnist"), train);
        String prefix = train ? "train" : "t10k";
        Files.createDirectories(out);
        try (DataOutputStream img = new DataOutputStream(Files.newOutputStream(out.resolve(prefix + "-images-idx3-ubyte")));
                DataOutputStream lbl = new DataOutputStream(Files.newOutputStream(out.resolve(prefix + "-labels-idx1-ubyte")))) {
            img.writeInt(2051);
            img.writeInt(n);
            img.writeInt(28);
            img.writeInt(28);
            lbl.writeInt(2049);
            lbl.writeInt(n);
            for (int i = 0; i < n; i++) {
                for (int v : src.image(i)) {
                    img.writeByte(v);
                }
                lbl.writeByte(src.label(i));
            }
        }
    }

    Path tinyCheckpoint() {
        Path ckpt = dir.resolve("tiny.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = new Instantiator().instantiate(ConfigNode.load(CliTest.TINY).getNode("model"),
                    DiffusionEngine.class);
            e.initialize(m, new TorchNoiseSource(1));
            Checkpoints.save(ckpt, e, 1);
        }
        return ckpt;
    }

    @Test
    void trainsTheMissingClassifierThenReusesItAndReportsPerDigitAccuracy() throws Exception {
        Path mnist = dir.resolve("mnist");
        writeMnist(mnist, true, 256);
        writeMnist(mnist, false, 100);
        String ckpt = tinyCheckpoint().toString();
        Path classifier = dir.resolve("runs/classifier.safetensors");
        Path grid = dir.resolve("grid/digits.png");
        Run first = run("digit-accuracy", CliTest.TINY.toString(), "--ckpt", ckpt, "--per-class", "2", "--steps", "2",
                "--mnist", mnist.toString(), "--classifier", classifier.toString(), "--classifier-steps", "3",
                "--grid", grid.toString(), "--ema");
        assertEquals(0, first.code(), first.err());
        assertTrue(first.err().contains("training the digit classifier"), first.err());
        assertTrue(Files.isRegularFile(classifier), "the trained classifier is saved");
        assertTrue(Files.size(grid) > 0);
        assertTrue(first.out().contains("test accuracy"), first.out());
        assertTrue(first.out().contains("on the 100 MNIST test digits"), first.out());
        assertTrue(first.out().matches("(?s).*sample accuracy [0-9.]+% \\(\\d+/20 samples.*"), first.out());
        for (int d = 0; d < 10; d++) {
            assertTrue(first.out().matches("(?s).*\\n\\s+" + d + "\\s+\\d/2\\s.*"), "row of digit " + d + ":\n" + first.out());
        }
        long saved = Files.getLastModifiedTime(classifier).toMillis();

        Run second = run("digit-accuracy", CliTest.TINY.toString(), "--ckpt", ckpt, "--per-class", "1", "--steps", "2",
                "--seed", "5", "--mnist", mnist.toString(), "--classifier", classifier.toString());
        assertEquals(0, second.code(), second.err());
        assertFalse(second.err().contains("training the digit classifier"), second.err());
        assertEquals(saved, Files.getLastModifiedTime(classifier).toMillis(), "the existing classifier is reused");
        assertTrue(second.out().contains("(") && second.out().contains("/10 samples"), second.out());
        // the classifier's own test accuracy is the same number both times
        assertEquals(line(first.out(), "classifier "), line(second.out(), "classifier "));
    }

    @Test
    void invalidOptionsAreRejectedBeforeAnyWork() throws Exception {
        String cfg = CliTest.TINY.toString();
        String ckpt = tinyCheckpoint().toString();
        Path aFile = dir.resolve("a-file");
        Files.writeString(aFile, "x");
        String c = dir.resolve("c.safetensors").toString();
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c, "--per-class", "0")),
                "--per-class");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c, "--steps", "0")),
                "--steps");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c, "--mnist",
                "no/such/dir")), "--mnist");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", dir.toString())),
                "--classifier", "is a directory");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier",
                aFile.resolve("c.safetensors").toString())), "--classifier");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c, "--grid",
                aFile.resolve("g.png").toString())), "--grid");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c,
                "--classifier-steps", "0")), "--classifier-steps");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", dir.resolve("none").toString(),
                "--classifier", c)), "--ckpt");
        CliTest.assertUsageError(toCli(run("digit-accuracy", cfg, "--ckpt", ckpt, "--classifier", c, "--device", "tpu")),
                "--device");
        assertFalse(Files.exists(dir.resolve("c.safetensors")), "nothing was trained");
    }

    @Test
    void aBadClassifierFileFailsNamingIt() throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.writeString(bad, "not a safetensors file");
        Run r = run("digit-accuracy", CliTest.TINY.toString(), "--ckpt", tinyCheckpoint().toString(), "--classifier",
                bad.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(bad.toString()), r.err());
    }

    @Test
    void theSampleSizeComesFromTheConfig() {
        assertNull(DigitAccuracyCommand.imageSize(ConfigNode.load(CliTest.TINY)));
        String identity = """
                model:
                  params:
                    network_config: {params: {in_channels: 1}}
                    first_stage_config: {target: sgm.models.autoencoder.IdentityFirstStage}
                """;
        assertEquals(28, DigitAccuracyCommand.imageSize(ConfigNode.parse(identity, "identity")));
        String latent = """
                model:
                  params:
                    network_config: {params: {in_channels: 3}}
                    first_stage_config:
                      target: sgm.models.autoencoder.AutoencoderKL
                      params: {ddconfig: {resolution: 32}}
                """;
        assertEquals(32, DigitAccuracyCommand.imageSize(ConfigNode.parse(latent, "latent")));
        String unknown = latent.replace("params: {ddconfig: {resolution: 32}}", "params: {}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DigitAccuracyCommand.imageSize(ConfigNode.parse(unknown, "unknown")));
        assertTrue(e.getMessage().contains("image_size"), e.getMessage());
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, java.util.Arrays.copyOf(DigitAccuracyCommand.askedDigits(3), 6));
    }

    private static CliTest.Run toCli(Run r) {
        return new CliTest.Run(r.code(), r.err());
    }

    private static String line(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).findFirst().orElse("(no line starting with " + prefix + ")");
    }
}
