package io.github.sgm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** State-dict naming, loading reports and meta (allocation-free) listings. */
class ModuleTest {

    /** A small block shaped like a VAE ResnetBlock. */
    static final class Block extends Module {
        final GroupNorm norm1 = register("norm1", new GroupNorm(2, 4, 1e-6));
        final Conv2d conv1 = register("conv1", new Conv2d(4, 8, 3, 1, 1));
        final ModuleList<Module> layers = register("layers", new ModuleList<>());
        final Parameter steps = buffer("steps", new Shape(), DataType.INT32, Init.zeros(), true);
        final Parameter cache = buffer("cache", new Shape(3), DataType.FLOAT32, Init.zeros(), false);

        Block() {
            layers.add(new SiLU());
            layers.add(new Linear(8, 2));
        }
    }

    @Test
    void keysFollowTorchNamingWithoutAllocation() {
        Block b = new Block();
        List<String> keys = b.stateDictSpec().stream().map(TensorSpec::key).toList();
        assertEquals(List.of("steps", "norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias",
                "layers.1.weight", "layers.1.bias"), keys);
        assertEquals("conv1.weight\t8,4,3,3\tfloat32", b.stateDictSpec().get(3).toListingLine());
        assertEquals("steps\t\tint32", b.stateDictSpec().get(0).toListingLine());
        assertFalse(b.tensor("conv1.weight").isInitialized(), "meta build must not allocate");
        assertEquals(8 * 4 * 9 + 8 + 4 + 4 + 16 + 2, b.parameterCount());
    }

    @Test
    void loadReportsMissingUnexpectedAndShapeMismatch() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block b = new Block();
            b.initialize(m, NoiseSource.seeded(0));
            Map<String, NDArray> sd = new LinkedHashMap<>(b.stateDict());
            sd.remove("conv1.bias");
            sd.put("conv2.weight", m.zeros(new Shape(1)));
            LoadResult r = b.loadStateDict(sd, false);
            assertEquals(List.of("conv1.bias"), r.missingKeys());
            assertEquals(List.of("conv2.weight"), r.unexpectedKeys());
            StateDictException strict = assertThrows(StateDictException.class, () -> b.loadStateDict(sd, true));
            assertTrue(strict.getMessage().contains("conv1.bias") && strict.getMessage().contains("conv2.weight"),
                    strict.getMessage());

            Map<String, NDArray> wrong = new LinkedHashMap<>(b.stateDict());
            wrong.put("norm1.weight", m.zeros(new Shape(5)));
            StateDictException shape = assertThrows(StateDictException.class, () -> b.loadStateDict(wrong, false));
            assertTrue(shape.getMessage().contains("norm1.weight: expected (4), got (5)"), shape.getMessage());
        }
    }

    @Test
    void loadCopiesValuesAndConvertsDtype() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear lin = new Linear(2, 2);
            lin.attach(m);
            Map<String, NDArray> sd = Map.of(
                    "weight", m.create(new double[] {1, 2, 3, 4}, new Shape(2, 2)),
                    "bias", m.create(new double[] {0.5, -0.5}));
            LoadResult r = lin.loadStateDict(sd, true);
            assertTrue(r.isClean());
            assertEquals(DataType.FLOAT32, lin.getWeight().getArray().getDataType());
            NDArray y = lin.forward(m.create(new float[] {1, 1}, new Shape(1, 2)));
            float[] v = y.toFloatArray();
            assertEquals(3.5f, v[0]);
            assertEquals(6.5f, v[1]);
        }
    }

    @Test
    void trainEvalAndRequiresGradPropagate() {
        Block b = new Block();
        b.eval();
        assertFalse(b.conv1.isTraining());
        b.requiresGrad(false);
        assertFalse(b.tensor("layers.1.weight").requiresGrad());
        assertFalse(b.steps.requiresGrad());
        assertEquals(6, b.namedParameters().size());
        assertEquals(2, b.namedBuffers().size());
    }

    @Test
    void unallocatedAccessIsAClearError() {
        Linear lin = new Linear(3, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> lin.getWeight().getArray());
        assertTrue(e.getMessage().contains("weight"), e.getMessage());
    }
}
