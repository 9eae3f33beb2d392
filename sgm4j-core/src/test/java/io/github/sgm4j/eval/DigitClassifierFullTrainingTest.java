package io.github.sgm4j.eval;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.train.data.MnistDataset;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The default training on the full MNIST training split and its accuracy on the full test split
 * (the figures the README reports). Slow (minutes on 2 CPU cores): run with {@code
 * -Dtest.excludedGroups=none -Dtest=DigitClassifierFullTrainingTest}. Set {@code
 * sgm4j.digit.save} to a path to keep the trained weights.
 */
@Tag("slow")
class DigitClassifierFullTrainingTest {

    @Test
    void defaultTrainingReachesTheTargetAccuracy() {
        Path mnist = Path.of("data/mnist");
        MnistDataset train = MnistDataset.load(mnist, true);
        MnistDataset test = MnistDataset.load(mnist, false);
        DigitClassifier.Options opts = DigitClassifier.Options.defaults();
        long t0 = System.nanoTime();
        double cpu0 = processCpuSeconds();
        try (DigitClassifier c = DigitClassifier.train(train, opts, (step, total, loss) -> {
            if (step % 50 == 0 || step == total) {
                System.out.printf("step %d/%d loss %.4f (%.1f s)%n", step, total, loss, (System.nanoTime() - t0) / 1e9);
            }
        })) {
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = processCpuSeconds() - cpu0;
            long e0 = System.nanoTime();
            double acc = c.accuracy(test);
            double evalSeconds = (System.nanoTime() - e0) / 1e9;
            System.out.printf("DigitClassifier default training: %d steps of %d in %.1f s (%.1f s of process CPU time);"
                    + " test accuracy %.4f on %d digits (evaluated in %.1f s)%n", opts.steps(), opts.batchSize(), seconds,
                    cpu, acc, test.size(), evalSeconds);
            String save = System.getProperty("sgm4j.digit.save");
            if (save != null) {
                c.save(Path.of(save));
            }
            assertTrue(acc >= 0.985, "test accuracy " + acc);
        }
    }

    private static double processCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }
}
