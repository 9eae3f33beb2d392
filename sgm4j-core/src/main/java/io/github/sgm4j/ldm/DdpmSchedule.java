package io.github.sgm4j.ldm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.ldm.DDPM.MeanVariance;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DDPM's schedule math: {@code register_schedule} (betas, alphas and posterior coefficients in
 * float64, rounded to float32 buffers) and the closed forms using those buffers ({@code
 * q_mean_variance}, {@code predict_start_from_noise}, {@code q_posterior}). {@link DDPM} owns the
 * buffers and delegates here.
 */
final class DdpmSchedule {

    private DdpmSchedule() {}

    /**
     * {@code register_schedule}; see {@link DDPM#registerSchedule}.
     *
     * @param betas the betas in float64
     * @param vPosterior the posterior variance mix
     * @param parameterization eps or x0 (the {@code lvlb_weights} formula)
     * @return buffer name to float32 values, in registration order
     */
    static Map<String, float[]> register(double[] betas, double vPosterior, String parameterization) {
        int n = betas.length;
        double[] alphas = new double[n];
        for (int i = 0; i < n; i++) {
            alphas[i] = 1. - betas[i];
        }
        double[] ac = LdmUtil.alphasCumprod(betas);
        double[] acPrev = new double[n];
        acPrev[0] = 1.;
        System.arraycopy(ac, 0, acPrev, 1, n - 1);
        Map<String, float[]> out = new LinkedHashMap<>();
        float[] betas32 = f32(n, i -> betas[i]);
        float[] ac32 = f32(n, i -> ac[i]);
        out.put("betas", betas32);
        out.put("alphas_cumprod", ac32);
        out.put("alphas_cumprod_prev", f32(n, i -> acPrev[i]));
        out.put("sqrt_alphas_cumprod", f32(n, i -> Math.sqrt(ac[i])));
        out.put("sqrt_one_minus_alphas_cumprod", f32(n, i -> Math.sqrt(1. - ac[i])));
        out.put("log_one_minus_alphas_cumprod", f32(n, i -> Math.log(1. - ac[i])));
        out.put("sqrt_recip_alphas_cumprod", f32(n, i -> Math.sqrt(1. / ac[i])));
        out.put("sqrt_recipm1_alphas_cumprod", f32(n, i -> Math.sqrt(1. / ac[i] - 1)));
        double[] pv = new double[n];
        for (int i = 0; i < n; i++) {
            pv[i] = (1 - vPosterior) * betas[i] * (1. - acPrev[i]) / (1. - ac[i]) + vPosterior * betas[i];
        }
        float[] pv32 = f32(n, i -> pv[i]);
        out.put("posterior_variance", pv32);
        out.put("posterior_log_variance_clipped", f32(n, i -> Math.log(Math.max(pv[i], 1e-20))));
        out.put("posterior_mean_coef1", f32(n, i -> betas[i] * Math.sqrt(acPrev[i]) / (1. - ac[i])));
        out.put("posterior_mean_coef2", f32(n, i -> (1. - acPrev[i]) * Math.sqrt(alphas[i]) / (1. - ac[i])));
        float[] lvlb = new float[n];
        for (int i = 0; i < n; i++) {
            if ("eps".equals(parameterization)) {
                // betas**2 / (2 * posterior_variance * alphas * (1 - alphas_cumprod)), float32 tensors
                float den = 2f * pv32[i];
                den = den * (float) alphas[i];
                den = den * (1f - ac32[i]);
                lvlb[i] = betas32[i] * betas32[i] / den;
            } else {
                // 0.5 * sqrt(a) / (2. * 1 - a) with a = float32 alphas_cumprod (literally '2 - a')
                float s = (float) Math.sqrt(ac32[i]);
                lvlb[i] = 0.5f * s / (2f - ac32[i]);
            }
        }
        if (n > 1) {
            lvlb[0] = lvlb[1];
        }
        out.put("lvlb_weights", lvlb);
        return out;
    }

    private static float[] f32(int n, java.util.function.IntToDoubleFunction f) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) f.applyAsDouble(i);
        }
        return out;
    }

    /**
     * {@code q_mean_variance(x_start, t)}.
     *
     * @param m the model holding the buffers
     * @param xStart x_0
     * @param t the timesteps [B]
     * @return the mean, variance and log-variance of q(x_t | x_0)
     */
    static MeanVariance qMeanVariance(DDPM m, NDArray xStart, NDArray t) {
        Shape s = xStart.getShape();
        NDArray mean;
        try (NDArray a = LdmUtil.extractIntoTensor(m.sqrtAlphasCumprod(), t, s)) {
            mean = a.mul(xStart);
        }
        NDArray variance;
        try (NDArray one = m.alphasCumprod().getManager().ones(new Shape(m.numTimesteps()));
                NDArray oneMinus = one.sub(m.alphasCumprod())) {
            variance = LdmUtil.extractIntoTensor(oneMinus, t, s);
        }
        NDArray logVariance = LdmUtil.extractIntoTensor(m.scheduleBuffer("log_one_minus_alphas_cumprod"), t, s);
        return new MeanVariance(mean, variance, logVariance);
    }

    /**
     * {@code predict_start_from_noise(x_t, t, noise)}.
     *
     * @param m the model holding the buffers
     * @param xT x_t
     * @param t the timesteps [B]
     * @param noise the predicted noise
     * @return the predicted x_0
     */
    static NDArray predictStartFromNoise(DDPM m, NDArray xT, NDArray t, NDArray noise) {
        Shape s = xT.getShape();
        try (NDArray a = LdmUtil.extractIntoTensor(m.scheduleBuffer("sqrt_recip_alphas_cumprod"), t, s);
                NDArray b = LdmUtil.extractIntoTensor(m.scheduleBuffer("sqrt_recipm1_alphas_cumprod"), t, s);
                NDArray ax = a.mul(xT);
                NDArray bn = b.mul(noise)) {
            return ax.sub(bn);
        }
    }

    /**
     * {@code q_posterior(x_start, x_t, t)}.
     *
     * @param m the model holding the buffers
     * @param xStart x_0
     * @param xT x_t
     * @param t the timesteps [B]
     * @return the mean, variance and clipped log-variance of q(x_{t-1} | x_t, x_0)
     */
    static MeanVariance qPosterior(DDPM m, NDArray xStart, NDArray xT, NDArray t) {
        Shape s = xT.getShape();
        NDArray mean;
        try (NDArray c1 = LdmUtil.extractIntoTensor(m.scheduleBuffer("posterior_mean_coef1"), t, s);
                NDArray c2 = LdmUtil.extractIntoTensor(m.scheduleBuffer("posterior_mean_coef2"), t, s);
                NDArray a = c1.mul(xStart);
                NDArray b = c2.mul(xT)) {
            mean = a.add(b);
        }
        NDArray variance = LdmUtil.extractIntoTensor(m.scheduleBuffer("posterior_variance"), t, s);
        NDArray logVariance = LdmUtil.extractIntoTensor(m.scheduleBuffer("posterior_log_variance_clipped"), t, s);
        return new MeanVariance(mean, variance, logVariance);
    }
}
