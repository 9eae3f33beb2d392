package io.github.sgm4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares a port's outputs with a golden case's, over the full tensor, with the case's named
 * tolerances, and keeps the worst errors for the report. Every output of the case must be checked
 * or explicitly skipped with a reason before {@link #finish()}.
 */
public final class Checker {

    private final GoldenCase golden;
    private final Set<String> checked = new LinkedHashSet<>();
    private final Map<String, String> skipped = new LinkedHashMap<>();
    private final List<String> failures = new ArrayList<>();
    private double maxAbsError;
    private double maxRelError;
    private String worstOutput = "";

    /** A checker for {@code golden}. */
    public Checker(GoldenCase golden) {
        this.golden = golden;
    }

    /** Compares {@code actual} with {@code output.<key>} using the case's tolerance for it. */
    public void check(String key, NDArray actual) {
        check(key, actual, golden.tolerance(key));
    }

    /** Compares {@code actual} with {@code output.<key>} using {@code tol}. */
    public void check(String key, NDArray actual, Tolerance tol) {
        NDArray expected = golden.expected(key);
        checked.add(key);
        if (!actual.getShape().equals(expected.getShape())) {
            failures.add(key + ": shape " + actual.getShape() + ", expected " + expected.getShape());
            return;
        }
        boolean expInt = !expected.getDataType().isFloating() && expected.getDataType() != DataType.BOOLEAN;
        if (expInt && actual.getDataType().isFloating()) {
            failures.add(key + ": dtype " + actual.getDataType() + ", expected integer " + expected.getDataType());
            return;
        }
        double[] a = toDoubles(actual);
        double[] e = toDoubles(expected);
        Tolerance t = expInt ? Tolerance.EXACT : tol;
        int bad = 0;
        int worst = -1;
        double worstExcess = -1;
        double caseMaxAbs = 0;
        double caseMaxRel = 0;
        for (int i = 0; i < e.length; i++) {
            boolean ok = t.accepts(a[i], e[i]);
            double abs = Math.abs(a[i] - e[i]);
            if (Double.isFinite(abs)) {
                caseMaxAbs = Math.max(caseMaxAbs, abs);
                caseMaxRel = Math.max(caseMaxRel, abs / Math.max(Math.abs(e[i]), 1e-12));
            }
            if (!ok) {
                bad++;
                double excess = Double.isFinite(abs) ? abs - (t.atol() + t.rtol() * Math.abs(e[i])) : Double.MAX_VALUE;
                if (excess > worstExcess) {
                    worstExcess = excess;
                    worst = i;
                }
            }
        }
        if (caseMaxAbs > maxAbsError) {
            maxAbsError = caseMaxAbs;
            worstOutput = key;
        }
        maxRelError = Math.max(maxRelError, caseMaxRel);
        if (bad > 0) {
            failures.add(String.format(
                    "%s: %d of %d elements outside rtol=%g atol=%g; worst at %s: actual %.9g expected %.9g (max abs err %.3g)",
                    key, bad, e.length, t.rtol(), t.atol(), index(worst, expected.getShape().getShape()),
                    a[worst], e[worst], caseMaxAbs));
        }
    }

    /** Marks {@code output.<key>} as deliberately not compared, with the reason for the report. */
    public void skip(String key, String reason) {
        golden.expected(key);
        skipped.put(key, reason);
    }

    /** Records a failure that is not a tensor comparison. */
    public void fail(String message) {
        failures.add(message);
    }

    /** Outputs of the case that were neither checked nor skipped. */
    public List<String> unchecked() {
        List<String> out = new ArrayList<>();
        for (String k : golden.outputKeys()) {
            if (!checked.contains(k) && !skipped.containsKey(k)) {
                out.add(k);
            }
        }
        return out;
    }

    /** Throws an AssertionError listing every failure and every output left unchecked. */
    public void finish() {
        List<String> problems = new ArrayList<>(failures);
        List<String> left = unchecked();
        if (!left.isEmpty()) {
            problems.add("outputs not checked: " + left);
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(golden.name() + ":\n  " + String.join("\n  ", problems));
        }
    }

    /** Largest absolute error over all checked outputs. */
    public double maxAbsError() {
        return maxAbsError;
    }

    /** Largest relative error over all checked outputs. */
    public double maxRelError() {
        return maxRelError;
    }

    /** The output with the largest absolute error. */
    public String worstOutput() {
        return worstOutput;
    }

    /** Number of outputs compared. */
    public int checkedCount() {
        return checked.size();
    }

    /** Skipped outputs with reasons. */
    public Map<String, String> skipped() {
        return skipped;
    }

    private static String index(int flat, long[] shape) {
        if (shape.length == 0) {
            return "[]";
        }
        long[] idx = new long[shape.length];
        long r = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        return Arrays.toString(idx);
    }

    /** Full tensor as doubles (on CPU). */
    public static double[] toDoubles(NDArray x) {
        try (NDArray cpu = x.toDevice(ai.djl.Device.cpu(), true);
                NDArray d = cpu.toType(DataType.FLOAT64, true)) {
            return d.toDoubleArray();
        }
    }
}
