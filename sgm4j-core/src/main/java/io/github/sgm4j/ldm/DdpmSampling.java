package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.ldm.DDPM.PMeanVariance;
import io.github.sgm4j.nn.F;
import io.github.sgm4j.noise.NoiseSource;
import java.util.ArrayList;
import java.util.List;

/**
 * DDPM's ancestral sampling: {@code p_sample} and the {@code p_sample_loop} over every timestep.
 * {@link DDPM#pSample} and {@link DDPM#pSampleLoop} delegate here; the network call and posterior go
 * through the model's (overridable) methods.
 */
final class DdpmSampling {

    private DdpmSampling() {}

    /**
     * {@code p_sample(x, c, t)}; see {@link DDPM#pSample(NDArray, NDArray, NDArray, boolean, NoiseSource)}.
     *
     * @param m the model
     * @param x x_t
     * @param c the conditioning, or null
     * @param t the timesteps [B]
     * @param clip clamp the predicted x_0 to [-1, 1]
     * @param noise the source of the draw
     * @return x_{t-1}
     */
    static NDArray pSample(DDPM m, NDArray x, NDArray c, NDArray t, boolean clip, NoiseSource noise) {
        long b = x.getShape().get(0);
        try (NDArray out = m.applyModel(x, t, c);
                PMeanVariance p = m.pMeanVarianceFromOutput(x, t, out, clip);
                NDArray n = noise.randn(x.getManager(), x.getShape());
                NDArray isZero = F.eq(t, 0);
                NDArray isZeroF = isZero.toType(DataType.FLOAT32, false);
                NDArray mask = F.add(isZeroF.neg(), 1f);
                NDArray maskR = mask.reshape(b, 1, 1, 1);
                NDArray half = F.mul(p.posterior().logVariance(), 0.5f);
                NDArray std = half.exp();
                NDArray ms = maskR.mul(std);
                NDArray msn = ms.mul(n)) {
            return p.posterior().mean().add(msn);
        }
    }

    /**
     * {@code p_sample_loop}; see {@link DDPM#pSampleLoop}.
     *
     * @param m the model
     * @param shape [B, C, H, W]
     * @param cond the conditioning, or null
     * @param options the sampling options
     * @param noise the source of every draw
     * @return the sample and the kept intermediates
     */
    static SampleResult pSampleLoop(DDPM m, Shape shape, NDArray cond, SampleOptions options, NoiseSource noise) {
        if (options.unconditionalConditioning() != null && options.unconditionalGuidanceScale() != 1.0) {
            throw new IllegalArgumentException("the DDPM sampling loop has no classifier-free guidance "
                    + "(unconditional_guidance_scale " + options.unconditionalGuidanceScale() + "): use DDIM or PLMS");
        }
        int logEveryT = options.logEveryTOr(m.params.logEveryT());
        long b = shape.get(0);
        NDArray img = options.xT() != null ? options.xT() : noise.randn(m.getManager(), shape);
        LdmUtil.checkMask(options.mask(), options.x0(), img.getShape());
        List<NDArray> intermediates = new ArrayList<>();
        intermediates.add(img);
        NDArray xT = img;
        boolean kept = true;
        int total = m.numTimesteps();
        int step = 0;
        for (int i = total - 1; i >= 0; i--, step++) {
            NDArray next;
            try (NDScope scope = new NDScope()) {
                NDArray ts = LdmUtil.fullLong(img.getManager(), b, i);
                next = m.pSample(img, cond, ts, m.isClipDenoised(), noise);
                if (options.mask() != null) {
                    next = LdmUtil.blend(m, options.x0(), ts, options.mask(), next, noise);
                }
                NDScope.unregister(next);
            }
            if (img != xT && !kept) {
                img.close();
            }
            img = next;
            kept = i % logEveryT == 0 || i == total - 1;
            if (kept) {
                intermediates.add(img);
            }
            if (options.callback() != null) {
                options.callback().onStep(step, total, img, img);
            }
        }
        return new SampleResult(img, intermediates, List.of());
    }
}
