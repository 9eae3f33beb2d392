package io.github.sgm4j.train;

import ai.djl.ndarray.NDManager;
import io.github.sgm4j.models.DiffusionEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Child-JVM entry of {@link DeterminismTest}: trains the tiny engine of {@link TrainingTest} for
 * {@code steps} steps into {@code out} (checkpoint {@code out/last.safetensors}) and writes the
 * losses to {@code out/losses.txt}; with {@code gc} a {@link GcStressor} runs meanwhile.
 *
 * <p>Usage: {@code DeterminismMain OUT STEPS gc|plain}
 */
public final class DeterminismMain {

    private DeterminismMain() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        long steps = Long.parseLong(args[1]);
        boolean gc = "gc".equals(args[2]);
        TrainingTest.load();
        List<Double> losses;
        try (NDManager m = NDManager.newBaseManager();
                GcStressor s = gc ? new GcStressor() : null) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            losses = TrainingTest.train(e, steps, out);
        }
        Files.writeString(out.resolve("losses.txt"),
                losses.stream().map(d -> Long.toHexString(Double.doubleToRawLongBits(d))).collect(Collectors.joining("\n")));
    }
}
