package io.github.sgm4j.testutil;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.golden.Checker;
import io.github.sgm4j.golden.Tolerance;
import org.junit.jupiter.api.Assertions;

/** Full-tensor comparisons with named tolerances, reporting the worst element. */
public final class Assert {

    private Assert() {}

    /** Asserts {@code |actual - expected| <= atol + rtol*|expected|} elementwise over the full tensor. */
    public static void allClose(String what, NDArray expected, NDArray actual, double rtol, double atol) {
        Assertions.assertEquals(expected.getShape(), actual.getShape(), what + ": shape");
        double[] e = Checker.toDoubles(expected);
        double[] a = Checker.toDoubles(actual);
        Tolerance t = new Tolerance(rtol, atol);
        int worst = -1;
        double worstErr = -1;
        int bad = 0;
        for (int i = 0; i < e.length; i++) {
            if (!t.accepts(a[i], e[i])) {
                bad++;
                double err = Math.abs(a[i] - e[i]);
                if (!(err <= worstErr)) {
                    worstErr = err;
                    worst = i;
                }
            }
        }
        if (bad > 0) {
            Assertions.fail(String.format("%s: %d of %d elements outside rtol=%g atol=%g; worst flat index %d: actual %.9g expected %.9g",
                    what, bad, e.length, rtol, atol, worst, a[worst], e[worst]));
        }
    }
}
