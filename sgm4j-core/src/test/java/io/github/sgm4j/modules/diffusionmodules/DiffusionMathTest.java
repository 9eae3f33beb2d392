package io.github.sgm4j.modules.diffusionmodules;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.modules.diffusionmodules.denoiser.DenoiseFunction;
import io.github.sgm4j.modules.diffusionmodules.discretizer.EDMDiscretization;
import io.github.sgm4j.modules.diffusionmodules.guiders.VanillaCFG;
import io.github.sgm4j.modules.diffusionmodules.loss.StandardDiffusionLoss;
import io.github.sgm4j.modules.diffusionmodules.lossweighting.UnitWeighting;
import io.github.sgm4j.modules.diffusionmodules.sampling.AncestralSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.DPMPP2MSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EDMSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EulerAncestralSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.EulerEDMSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.GaussKronrod;
import io.github.sgm4j.modules.diffusionmodules.sampling.LinearMultistepSampler;
import io.github.sgm4j.modules.diffusionmodules.sampling.SamplerCallback;
import io.github.sgm4j.modules.diffusionmodules.sampling.SamplingCancelledException;
import io.github.sgm4j.modules.diffusionmodules.sigmasampling.EDMSampling;
import io.github.sgm4j.modules.encoders.AbstractEmbModel;
import io.github.sgm4j.modules.encoders.ClassEmbedder;
import io.github.sgm4j.modules.encoders.GeneralConditioner;
import io.github.sgm4j.noise.NoiseSource;
import io.github.sgm4j.util.Dims;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Bad inputs, cancellation, argument immutability and memory of the diffusion math. */
class DiffusionMathTest {

    private static EDMDiscretization edm() {
        return new EDMDiscretization(EDMDiscretization.Params.defaults());
    }

    private static DenoiseFunction shrink() {
        // D(x, sigma) = x / (1 + sigma^2): the ideal denoiser for unit-variance data
        return (x, sigma, c) -> {
            try (NDArray s = Dims.appendDims(sigma, x.getShape().dimension());
                    NDArray s2 = s.square();
                    NDArray d = s2.add(1f)) {
                return x.div(d);
            }
        };
    }

    @Test
    void numStepsBelowOneIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EulerEDMSampler(edm(), null, EDMSampler.Params.defaults(0)));
        assertTrue(e.getMessage().contains("num_steps") && e.getMessage().contains("0"), e.getMessage());
        EulerEDMSampler s = new EulerEDMSampler(edm(), null, EDMSampler.Params.defaults(null));
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> s.sigmas(-3));
        assertTrue(e2.getMessage().contains("num_steps must be >= 1, got -3"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.sigmas(null));
    }

    @Test
    void unknownLossTypeIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StandardDiffusionLoss(new EDMSampling(EDMSampling.Params.defaults()),
                        new UnitWeighting(), new StandardDiffusionLoss.Params("l3", 0.0, List.of())));
        assertTrue(e.getMessage().contains("'l3'") && e.getMessage().contains("loss_type"), e.getMessage());
    }

    @Test
    void guiderWithoutUnconditionalConditioningIsRejected() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.zeros(new Shape(2, 1, 2, 2));
            NDArray s = m.ones(new Shape(2));
            Map<String, NDArray> c = Map.of("vector", m.ones(new Shape(2, 3)));
            VanillaCFG cfg = new VanillaCFG(new VanillaCFG.Params(3.0));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> cfg.prepareInputs(x, s, c, null));
            assertTrue(e.getMessage().contains("unconditional"), e.getMessage());
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> cfg.prepareInputs(x, s, c, Map.of("crossattn", m.ones(new Shape(2, 1, 3)))));
            assertTrue(e2.getMessage().contains("'vector'"), e2.getMessage());
        }
    }

    private static GeneralConditioner classConditioner(NDManager m, int nClasses) {
        ClassEmbedder e = new ClassEmbedder(new ClassEmbedder.Params(4, nClasses, false));
        e.setInputKey("cls");
        List<AbstractEmbModel> list = new ArrayList<>();
        list.add(e);
        GeneralConditioner g = new GeneralConditioner(list);
        g.initialize(m, NoiseSource.seeded(0));
        return g;
    }

    @Test
    void conditionerMissingKeyNamesIt() {
        try (NDManager m = NDManager.newBaseManager()) {
            GeneralConditioner g = classConditioner(m, 10);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.forward(Map.of("label", m.create(new long[] {1})), null));
            assertTrue(e.getMessage().contains("'cls'") && e.getMessage().contains("label"), e.getMessage());
        }
    }

    @Test
    void classIndexOutOfRangeNamesIt() {
        try (NDManager m = NDManager.newBaseManager()) {
            GeneralConditioner g = classConditioner(m, 10);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.forward(Map.of("cls", m.create(new long[] {3, 10})), null));
            assertTrue(e.getMessage().contains("class index 10") && e.getMessage().contains("'cls'"), e.getMessage());
        }
    }

    @Test
    void classEmbedderUnconditionalIsLastClass() {
        try (NDManager m = NDManager.newBaseManager()) {
            GeneralConditioner g = classConditioner(m, 10);
            ClassEmbedder e = (ClassEmbedder) g.getEmbedders().get(0);
            Map<String, NDArray> uc = e.getUnconditionalConditioning(m, 3);
            assertArrayEquals(new long[] {9, 9, 9}, uc.get("cls").toLongArray());
            assertEquals(List.of("embedders.0.embedding.weight"), List.copyOf(g.stateDictKeys()));
        }
    }

    @Test
    void samplerLeavesCallerXAloneAndCanBeCancelled() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = NoiseSource.seeded(1).randn(m, new Shape(2, 1, 4, 4));
            NDArray copy = x.duplicate();
            EulerAncestralSampler s = new EulerAncestralSampler(edm(), null, AncestralSampler.Params.defaults(6));
            List<Integer> seen = new ArrayList<>();
            NDArray out = s.sample(shrink(), x, Map.of(), null, NoiseSource.seeded(2), null,
                    (step, total, sigma, denoised) -> {
                        seen.add(step);
                        assertEquals(6, total);
                        assertEquals(x.getShape(), denoised.getShape());
                        return true;
                    });
            assertEquals(List.of(0, 1, 2, 3, 4, 5), seen);
            assertTrue(x.contentEquals(copy), "caller's x modified");
            assertEquals(x.getShape(), out.getShape());
            SamplingCancelledException e = assertThrows(SamplingCancelledException.class,
                    () -> s.sample(shrink(), x, Map.of(), null, NoiseSource.seeded(2), null,
                            (step, total, sigma, denoised) -> step < 2));
            assertEquals(3, e.completedSteps());
            assertTrue(x.contentEquals(copy), "caller's x modified");
        }
    }

    @Test
    void memoryStaysFlatOverManySteps() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = NoiseSource.seeded(3).randn(m, new Shape(1, 1, 8, 8));
            LinearMultistepSampler lms = new LinearMultistepSampler(edm(), null,
                    LinearMultistepSampler.Params.defaults(null));
            DPMPP2MSampler dpm = new DPMPP2MSampler(edm(), null, DPMPP2MSampler.Params.defaults(null));
            int before = m.getManagedArrays().size();
            try (NDArray a = lms.sample(shrink(), x, Map.of(), null, null, 200, SamplerCallback.NONE);
                    NDArray b = dpm.sample(shrink(), x, Map.of(), null, null, 200, SamplerCallback.NONE)) {
                // only the two results survive
                assertEquals(before + 2, m.getManagedArrays().size());
            }
        }
    }

    @Test
    void gaussKronrodIsExactForPolynomialsAndAdaptsOtherwise() {
        // degree 9 polynomial, exact under the 21-point Kronrod rule
        double v = GaussKronrod.quad(t -> Math.pow(t, 9) - 3 * t * t, -1.0, 2.0, 1e-10);
        assertEquals((Math.pow(2, 10) - 1) / 10.0 - (8 + 1), v, 1e-12);
        GaussKronrod.Result r = GaussKronrod.integrate(t -> Math.sqrt(t), 0.0, 1.0, 1e-12, 1e-12, 50);
        assertEquals(2.0 / 3.0, r.value(), 1e-10);
        assertTrue(r.subintervals() > 1);
    }
}
