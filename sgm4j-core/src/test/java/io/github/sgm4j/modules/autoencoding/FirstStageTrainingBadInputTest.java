package io.github.sgm4j.modules.autoencoding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import io.github.sgm4j.modules.autoencoding.lpips.NLayerDiscriminator;
import io.github.sgm4j.modules.autoencoding.lpips.Vgg16Features;
import io.github.sgm4j.modules.autoencoding.lpips.VqPerceptual;
import io.github.sgm4j.modules.autoencoding.losses.LPIPSWithDiscriminator;
import io.github.sgm4j.nn.BatchNorm2d;
import io.github.sgm4j.nn.MaxPool2d;
import io.github.sgm4j.noise.NoiseSource;
import org.junit.jupiter.api.Test;

/** Bad input and key layout of the first-stage training modules. */
class FirstStageTrainingBadInputTest {

    @Test
    void batchNormRejectsWrongChannels() {
        try (NDManager m = NDManager.newBaseManager()) {
            BatchNorm2d bn = new BatchNorm2d(4);
            bn.initialize(m, NoiseSource.seeded(0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bn.forward(m.zeros(new Shape(2, 3, 4, 4))));
            assertTrue(e.getMessage().contains("(2, 3, 4, 4)"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new BatchNorm2d(0));
            assertEquals(java.util.List.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked"),
                    new java.util.ArrayList<>(bn.stateDictKeys()));
        }
    }

    @Test
    void maxPoolRejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(new MaxPool2d.Params(2, 2, 2, false)));
    }

    @Test
    void discriminatorChecksInput() {
        try (NDManager m = NDManager.newBaseManager()) {
            NLayerDiscriminator d = new NLayerDiscriminator(new NLayerDiscriminator.Params(3, 8, 2, false));
            d.initialize(m, NoiseSource.seeded(0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> d.forward(m.zeros(new Shape(1, 4, 32, 32))));
            assertTrue(e.getMessage().contains("[B, 3, H, W]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> d.forward(m.zeros(new Shape(2, 3, 4, 4))));
            assertTrue(d.stateDictKeys().contains("main.3.running_var"));
        }
    }

    @Test
    void lossesAndLpipsRejectBadInput() {
        assertThrows(IllegalArgumentException.class, () -> VqPerceptual.discLoss("wasserstein"));
        assertThrows(IllegalArgumentException.class,
                () -> new LPIPSWithDiscriminator(new LPIPSWithDiscriminator.Params(0, 0, 1, 1, 3, 3, 1, 1, 1, false, false, "x")));
        assertEquals(0.0, VqPerceptual.adoptWeight(1.0, 4, 5));
        assertEquals(1.0, VqPerceptual.adoptWeight(1.0, 5, 5));
        assertEquals("slice4.17.weight", Vgg16Features.keyFromTorchvision("features.17.weight"));
        assertEquals(null, Vgg16Features.keyFromTorchvision("classifier.0.weight"));
        LPIPS lp = new LPIPS();
        assertTrue(lp.stateDictKeys().contains("net.slice5.28.bias"));
        assertTrue(lp.stateDictKeys().contains("lin0.model.1.weight"));
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.zeros(new Shape(1, 3, 32, 32));
            NDArray b = m.zeros(new Shape(1, 3, 16, 16));
            assertThrows(IllegalArgumentException.class, () -> lp.forwardWithMaps(a, b));
        }
    }
}
