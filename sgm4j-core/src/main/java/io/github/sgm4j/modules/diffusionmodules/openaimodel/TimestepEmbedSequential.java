package io.github.sgm4j.modules.diffusionmodules.openaimodel;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.modules.attention.SpatialTransformer;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.ModuleList;
import io.github.sgm4j.nn.UnaryModule;
import java.util.List;

/**
 * Port of {@code TimestepEmbedSequential}: children named by index; {@link TimestepBlock}s get the
 * timestep embedding, {@link SpatialTransformer}s the context, other layers only {@code x}.
 */
public class TimestepEmbedSequential extends ModuleList<Module> {

    /**
     * A sequence of the given layers.
     *
     * @param layers the layers, in order
     */
    public TimestepEmbedSequential(Module... layers) {
        for (Module m : layers) {
            add(m);
        }
    }

    @Override
    public Module add(Module m) {
        if (!(m instanceof TimestepBlock || m instanceof SpatialTransformer || m instanceof UnaryModule)) {
            throw new IllegalArgumentException("TimestepEmbedSequential cannot call " + m.getClass().getSimpleName());
        }
        return super.add(m);
    }

    /**
     * @param x input
     * @param emb timestep embedding [B, E]
     * @param context cross-attention contexts (one per transformer block or a single one), or null
     * @return the output of the last layer, a new array
     */
    public NDArray forward(NDArray x, NDArray emb, List<NDArray> context) {
        NDArray h = x;
        for (Module layer : items()) {
            NDArray next;
            if (layer instanceof TimestepBlock tb) {
                next = tb.forward(h, emb);
            } else if (layer instanceof SpatialTransformer st) {
                next = st.forward(h, context);
            } else {
                next = ((UnaryModule) layer).forward(h);
            }
            if (h != x) {
                h.close();
            }
            h = next;
        }
        return h == x ? io.github.sgm4j.nn.F.alias(x) : h;
    }
}
