"""Reference values for sgm4j's ImageMetrics (PSNR, SSIM), computed independently with
scipy.signal.correlate2d (valid mode) on an explicit 2-D Gaussian window, float64.

Run: /usr/bin/python3 gen_ssim.py  -> ssim_cases.json (inputs are generated from a seed and
stored, so the Java test does not need numpy's generator)."""
import json
import numpy as np
from scipy.signal import correlate2d

rng = np.random.default_rng(1234)
g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
g /= g.sum()
win = np.outer(g, g)


def ssim(a, b):
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    vals = []
    for ch in range(a.shape[0]):
        x, y = a[ch], b[ch]
        f = lambda z: correlate2d(z, win, mode="valid")
        mx, my = f(x), f(y)
        vx = f(x * x) - mx * mx
        vy = f(y * y) - my * my
        cov = f(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


cases = []
for (c, h, w, noise) in [(1, 32, 32, 0.05), (1, 32, 32, 0.3), (3, 16, 24, 0.1), (1, 11, 11, 0.2)]:
    a = rng.random((c, h, w)).astype(np.float32)
    b = np.clip(a + noise * rng.standard_normal((c, h, w)), 0, 1).astype(np.float32)
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    cases.append({"c": c, "h": h, "w": w, "a": a.ravel().tolist(), "b": b.ravel().tolist(),
                  "ssim": ssim(a.astype(np.float64), b.astype(np.float64)),
                  "psnr": float(10 * np.log10(1.0 / mse))})
json.dump(cases, open("ssim_cases.json", "w"))
print("wrote", len(cases), "cases")
