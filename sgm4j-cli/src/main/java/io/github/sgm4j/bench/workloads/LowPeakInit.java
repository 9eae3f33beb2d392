package io.github.sgm4j.bench.workloads;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.noise.NoiseSource;

/**
 * Random initialisation of a large module tree with a bounded peak: {@link Module#initialize} is
 * called on every module children-first, each inside its own {@link NDScope}, so the temporary
 * arrays of the initialisers (the uniform draw before scaling) are released after every layer
 * instead of living in the model's manager. Benchmarks and memory tests use it so the measured peak
 * RSS is the model's, not the initialiser's.
 */
public final class LowPeakInit {

    private LowPeakInit() {}

    /**
     * Allocates every tensor of {@code root} in {@code manager} from {@code noise}, layer by layer
     * (children before their parent, in registration order), so the draws differ from a single
     * {@code root.initialize} call.
     *
     * @param root the module tree to initialise
     * @param manager owns the parameters and buffers (the caller closes it)
     * @param noise source of the random draws
     */
    public static void initialize(Module root, NDManager manager, NoiseSource noise) {
        for (Module child : root.children().values()) {
            initialize(child, manager, noise);
        }
        try (NDScope ignored = new NDScope()) {
            root.initialize(manager, noise);
        }
    }
}
