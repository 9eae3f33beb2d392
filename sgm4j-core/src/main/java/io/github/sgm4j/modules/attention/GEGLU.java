package io.github.sgm4j.modules.attention;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.nn.Linear;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.UnaryModule;

/** Port of {@code sgm.modules.attention.GEGLU}: {@code x, gate = proj(x).chunk(2); x * gelu(gate)}. */
public class GEGLU extends Module implements UnaryModule {

    private final Linear proj;

    /**
     * {@code GEGLU(dim_in, dim_out)}: {@code proj} maps to {@code 2 * dim_out}.
     *
     * @param dimIn the input dimension
     * @param dimOut the output dimension
     */
    public GEGLU(int dimIn, int dimOut) {
        this.proj = register("proj", new Linear(dimIn, dimOut * 2));
    }

    @Override
    public NDArray forward(NDArray x) {
        try (NDArray p = proj.forward(x);
                NDList parts = p.split(2, p.getShape().dimension() - 1);
                NDArray g = F.gelu(parts.get(1))) {
            return parts.get(0).mul(g);
        }
    }
}
