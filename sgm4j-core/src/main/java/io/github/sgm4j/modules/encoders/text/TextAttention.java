package io.github.sgm4j.modules.encoders.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import io.github.sgm4j.nn.F;

/** The math shared by the CLIP text towers: causal multi-head attention, quick-GELU, end-of-text pooling. */
final class TextAttention {

    private TextAttention() {}

    /**
     * The additive causal mask [L, L]: 0 on and below the diagonal, -inf above (CLIP's {@code
     * build_attention_mask} / HF's {@code _build_causal_attention_mask}).
     */
    static NDArray causalMask(NDManager manager, long len) {
        int l = Math.toIntExact(len);
        float[] m = new float[l * l];
        for (int i = 0; i < l; i++) {
            for (int j = i + 1; j < l; j++) {
                m[i * l + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return Tensors.create(manager, m, new Shape(l, l));
    }

    /**
     * {@code softmax(q @ k^T + mask) @ v} per head; {@code q} already scaled.
     *
     * @param q queries [B, L, D]
     * @param k keys [B, L, D]
     * @param v values [B, L, D]
     * @param heads the number of heads (D splits into heads x D/heads)
     * @param mask the additive mask [L, L]
     * @return [B, L, D]
     */
    static NDArray attend(NDArray q, NDArray k, NDArray v, int heads, NDArray mask) {
        Shape s = q.getShape();
        long b = s.get(0);
        long l = s.get(1);
        long d = s.get(2);
        Shape split = new Shape(b, l, heads, d / heads);
        // [B, L, D] -> [B, L, H, Dh] -> [B, H, L, Dh]
        try (NDArray q4 = q.reshape(split);
                NDArray qh = q4.transpose(0, 2, 1, 3);
                NDArray k4 = k.reshape(split);
                NDArray kt = k4.transpose(0, 2, 3, 1); // [B, H, Dh, L]
                NDArray v4 = v.reshape(split);
                NDArray vh = v4.transpose(0, 2, 1, 3);
                NDArray scores = qh.matMul(kt); // [B, H, L, L]
                NDArray masked = scores.add(mask);
                NDArray p = F.softmax(masked, -1);
                NDArray o = p.matMul(vh); // [B, H, L, Dh]
                NDArray ot = o.transpose(0, 2, 1, 3)) { // [B, L, H, Dh]
            return ot.reshape(new Shape(b, l, d));
        }
    }

    /** {@code quick_gelu(x) = x * sigmoid(1.702 * x)}. */
    static NDArray quickGelu(NDArray x) {
        try (NDArray t = F.mul(x, 1.702);
                NDArray s = F.sigmoid(t)) {
            return x.mul(s);
        }
    }

    /**
     * For each row of {@code ids}, the position of its largest id (the first one on ties, as {@code
     * torch.argmax}): the end-of-text token.
     */
    static long[] argmaxPerRow(NDArray ids) {
        long[] flat;
        if (ids.getDataType() == DataType.INT64) {
            flat = ids.toLongArray();
        } else {
            try (NDArray l = ids.toType(DataType.INT64, true)) {
                flat = l.toLongArray();
            }
        }
        int rows = Math.toIntExact(ids.getShape().get(0));
        int len = Math.toIntExact(ids.getShape().get(1));
        long[] out = new long[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int j = 1; j < len; j++) {
                if (flat[r * len + j] > flat[r * len + best]) {
                    best = j;
                }
            }
            out[r] = best;
        }
        return out;
    }

    /** {@code x[arange(B), ids.argmax(-1)]}: [B, L, D] to [B, D]. */
    static NDArray gatherArgmax(NDArray x, NDArray ids) {
        long[] pos = argmaxPerRow(ids);
        NDList rows = new NDList();
        try {
            for (int r = 0; r < pos.length; r++) {
                rows.add(x.get(new NDIndex(r + ", " + pos[r] + ", :")));
            }
            return NDArrays.stack(rows, 0);
        } finally {
            rows.close();
        }
    }
}
