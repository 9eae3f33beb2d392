package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.github.sgm4j.ldm.DDPM.Losses;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DDPM's training objective: {@code get_input}, {@code get_loss} and {@code p_losses} (simple loss
 * plus the {@code lvlb_weights}-weighted VLB term). The optimizer step itself is the shared {@link
 * io.github.sgm4j.optim.TrainingStep}; {@link DDPM} delegates here.
 */
final class DdpmTraining {

    private DdpmTraining() {}

    /**
     * {@code get_loss(pred, target, mean)}.
     *
     * @param lossType l1 or l2
     * @param pred the prediction
     * @param target the target
     * @param mean reduce to the mean
     * @return the element-wise (or mean) loss
     */
    static NDArray getLoss(String lossType, NDArray pred, NDArray target, boolean mean) {
        NDArray loss;
        try (NDArray d = target.sub(pred)) {
            loss = "l1".equals(lossType) ? d.abs() : d.mul(d);
        }
        if (mean) {
            try (loss) {
                return loss.mean();
            }
        }
        return loss;
    }

    /**
     * {@code x.mean(dim=[1, 2, 3])}.
     *
     * @param x a batch
     * @return the per-sample mean [B]
     */
    static NDArray meanFlat(NDArray x) {
        try (NDArray flat = x.reshape(x.getShape().get(0), -1)) {
            return flat.mean(new int[] {1});
        }
    }

    /**
     * {@code DDPM.p_losses(x_start, t, noise)}; see {@link DDPM#pLosses}.
     *
     * @param m the model
     * @param xStart x_0
     * @param t the timesteps [B]
     * @param noise the noise, or null to draw it
     * @param noiseSource the source of the draw
     * @return the loss and the loss dict
     */
    static Losses pLosses(DDPM m, NDArray xStart, NDArray t, NDArray noise, NoiseSource noiseSource) {
        NDArray n = noise != null ? noise : noiseSource.randnLike(xStart);
        NDArray xNoisy = m.qSample(xStart, t, n);
        NDArray modelOut = m.applyModel(xNoisy, t, null);
        NDArray target = "eps".equals(m.params.parameterization()) ? n : xStart;
        NDArray loss = meanFlat(m.getLoss(modelOut, target, false));
        Map<String, NDArray> lossDict = new LinkedHashMap<>();
        String prefix = m.logPrefix();
        lossDict.put(prefix + "/loss_simple", loss.mean());
        NDArray lossSimple = F.mul(loss.mean(), (float) m.params.lSimpleWeight());
        NDArray w = m.scheduleBuffer("lvlb_weights").take(t.getManager(), t);
        NDArray lossVlb = w.mul(loss).mean();
        lossDict.put(prefix + "/loss_vlb", lossVlb);
        NDArray total = lossSimple.add(F.mul(lossVlb, (float) m.params.originalElboWeight()));
        lossDict.put(prefix + "/loss", total);
        return new Losses(total, lossDict);
    }

    /**
     * {@code get_input(batch, k)}; see {@link DDPM#getInput}.
     *
     * @param batch the batch
     * @param k the key
     * @return [B, C, H, W] float32
     * @throws IllegalArgumentException when the key is missing or the rank is not 3 or 4
     */
    static NDArray getInput(Map<String, NDArray> batch, String k) {
        NDArray x = batch.get(k);
        if (x == null) {
            throw new IllegalArgumentException("batch has no key '" + k + "' (keys: " + batch.keySet() + ")");
        }
        int rank = x.getShape().dimension();
        if (rank != 3 && rank != 4) {
            throw new IllegalArgumentException("batch['" + k + "'] must be [B, H, W] or [B, H, W, C], got " + x.getShape());
        }
        try (NDArray x4 = rank == 3 ? x.expandDims(3) : x.reshape(x.getShape());
                NDArray chw = x4.transpose(0, 3, 1, 2)) {
            return chw.toType(DataType.FLOAT32, true);
        }
    }
}
