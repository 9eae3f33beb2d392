package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.TorchNoiseSource;
import io.github.sgm4j.testutil.Assert;
import io.github.sgm4j.train.data.MnistDataset;
import io.github.sgm4j.util.TextImages;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** DiffusionEngine.logImages: the reference's entries, each equal to what it is made of. */
class LogImagesTest {

    @Test
    void entriesEqualTheirSources() throws Exception {
        MnistDataset data = MnistDataset.load(Path.of("data/mnist"), false);
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            Map<String, NDArray> batch = data.batch(m, 0, 4, 5L);
            Map<String, NDArray> log = e.logImages(batch, 3, new TorchNoiseSource(21));
            assertEquals(List.of("inputs", "reconstructions", "cls", "samples"), List.copyOf(log.keySet()));
            NDArray inputs = batch.get("jpg").get("0:3");
            Assert.allClose("inputs", inputs, log.get("inputs"), 0, 0);
            Assert.allClose("identity first stage", inputs, log.get("reconstructions"), 0, 0);
            long[] cls = batch.get("cls").toLongArray();
            List<String> captions = List.of(Long.toString(cls[0]), Long.toString(cls[1]), Long.toString(cls[2]));
            Assert.allClose("class captions", TextImages.render(m, 28, 28, captions, 28 / 4), log.get("cls"), 0, 0);
            // samples: the engine's sampler with the same noise, EMA weights, unconditional guidance on 'cls'
            GeneralConditioner.CondPair cu = e.getConditioner().getUnconditionalConditioning(
                    Map.of("cls", batch.get("cls").get("0:3")), null, List.of("cls"), null);
            NDArray expected;
            try (AutoCloseable ema = e.emaScope()) {
                expected = e.sample(cu.c(), cu.uc(), 3, new Shape(1, 28, 28), new TorchNoiseSource(21), null);
            }
            Assert.allClose("samples", expected, log.get("samples"), 0, 0);
        }
    }

    @Test
    void noCondLogAndBadKeys() throws Exception {
        MnistDataset data = MnistDataset.load(Path.of("data/mnist"), false);
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine quiet = TrainingTest.engine(m, TrainingTest.TINY.replace("use_ema: True", "use_ema: True\n    no_cond_log: True"));
            Map<String, NDArray> batch = data.batch(m, 0, 2, 5L);
            assertTrue(quiet.logConditionings(batch, 2).isEmpty());
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> e.logConditionings(Map.of("jpg", batch.get("jpg")), 2));
            assertTrue(missing.getMessage().contains("'cls'"), missing.getMessage());
            IllegalArgumentException cube = assertThrows(IllegalArgumentException.class,
                    () -> e.logConditionings(Map.of("jpg", batch.get("jpg"), "cls", m.zeros(new Shape(2, 2, 2))), 2));
            assertTrue(cube.getMessage().contains("'cls'") && cube.getMessage().contains("(2, 2, 2)"), cube.getMessage());
        }
    }
}
