package io.github.sgm4j.golden;

/**
 * An elementwise tolerance {@code |actual - expected| <= atol + rtol * |expected|}.
 *
 * @param rtol relative tolerance
 * @param atol absolute tolerance
 */
public record Tolerance(double rtol, double atol) {

    /** Exact equality (integer outputs). */
    public static final Tolerance EXACT = new Tolerance(0, 0);

    /** Whether {@code actual} is within tolerance of {@code expected}; equal non-finite values match. */
    public boolean accepts(double actual, double expected) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            return Double.isNaN(expected) && Double.isNaN(actual);
        }
        if (Double.isInfinite(expected) || Double.isInfinite(actual)) {
            return actual == expected;
        }
        return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
    }
}
