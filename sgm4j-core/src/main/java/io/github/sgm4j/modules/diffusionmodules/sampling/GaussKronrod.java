package io.github.sgm4j.modules.diffusionmodules.sampling;

import java.util.PriorityQueue;
import java.util.function.DoubleUnaryOperator;

/**
 * Adaptive Gauss–Kronrod quadrature, the algorithm behind {@code scipy.integrate.quad} (QUADPACK
 * {@code QAGS} with the 21-point rule {@code QK21}).
 *
 * <p>The interval is bisected where the local error estimate is largest until the summed estimate
 * is within {@code max(epsabs, epsrel * |result|)} or {@code limit} subintervals are used. The
 * local rule, its error estimate (the {@code resasc}/{@code resabs} heuristics of {@code QK21})
 * and the first-pass termination test are QUADPACK's, so for the polynomial integrands of
 * {@link SamplingUtils#linearMultistepCoeff} (exact under the 21-point rule) the result is the
 * reference's to rounding. QAGS's Wynn epsilon extrapolation (which only matters for integrable
 * singularities) is not used: after the first pass this class keeps bisecting instead.
 */
public final class GaussKronrod {

    /** QUADPACK's default absolute tolerance ({@code scipy.integrate.quad} epsabs). */
    public static final double DEFAULT_EPSABS = 1.49e-8;
    /** QUADPACK's default relative tolerance ({@code scipy.integrate.quad} epsrel). */
    public static final double DEFAULT_EPSREL = 1.49e-8;
    /** QUADPACK's default subinterval limit. */
    public static final int DEFAULT_LIMIT = 50;

    private static final double EPMACH = Math.ulp(1.0);
    private static final double UFLOW = Double.MIN_NORMAL;

    // Kronrod abscissae; xgk[1], xgk[3], ... are the 10-point Gauss abscissae (QK21).
    private static final double[] XGK = {
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
        0.000000000000000000000000000000000
    };
    private static final double[] WGK = {
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077208703819555, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821
    };
    private static final double[] WG = {
        0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
        0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
        0.295524224714752870173892994651338
    };

    private GaussKronrod() {}

    /**
     * One 21-point estimate over [a, b]: value, error estimate, and QUADPACK's resabs/resasc.
     *
     * @param a the lower limit
     * @param b the upper limit
     * @param result the 21-point Kronrod estimate of the integral
     * @param abserr the error estimate
     * @param resabs the estimate of the integral of {@code |f|}
     * @param resasc the estimate of the integral of {@code |f - mean(f)|}
     */
    public record Estimate(double a, double b, double result, double abserr, double resabs, double resasc) {}

    /**
     * The integral and its error estimate.
     *
     * @param value the integral
     * @param abserr the absolute error estimate
     * @param subintervals the number of subintervals used
     */
    public record Result(double value, double abserr, int subintervals) {}

    /**
     * {@code scipy.integrate.quad(f, a, b, epsrel=epsrel)} with the default epsabs and limit.
     *
     * @param f the integrand
     * @param a the lower integration limit
     * @param b the upper integration limit
     * @param epsrel the relative error target
     * @return the integral estimate
     */
    public static double quad(DoubleUnaryOperator f, double a, double b, double epsrel) {
        return integrate(f, a, b, DEFAULT_EPSABS, epsrel, DEFAULT_LIMIT).value();
    }

    /**
     * Adaptive integration of {@code f} over [a, b].
     *
     * @param f the integrand
     * @param a the lower integration limit
     * @param b the upper integration limit
     * @param epsabs the absolute error target
     * @param epsrel the relative error target
     * @param limit the maximum number of subintervals
     * @return the integral, its error estimate and the subintervals used
     * @throws IllegalArgumentException if both tolerances are non-positive or {@code limit < 1}
     */
    public static Result integrate(DoubleUnaryOperator f, double a, double b, double epsabs, double epsrel, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be >= 1, got " + limit);
        }
        if (epsabs <= 0 && epsrel < Math.max(50 * EPMACH, 0.5e-28)) {
            throw new IllegalArgumentException("invalid tolerances: epsabs=" + epsabs + ", epsrel=" + epsrel);
        }
        Estimate first = qk21(f, a, b);
        double result = first.result();
        double abserr = first.abserr();
        double errbnd = Math.max(epsabs, epsrel * Math.abs(result));
        // QAGS first-pass test: accept when converged, hopeless (roundoff) or limit 1
        boolean roundoff = abserr <= 100 * EPMACH * first.resabs() && abserr > errbnd;
        if (limit == 1 || roundoff || (abserr <= errbnd && abserr != first.resasc()) || abserr == 0) {
            return new Result(result, abserr, 1);
        }
        PriorityQueue<Estimate> pieces = new PriorityQueue<>((p, q) -> Double.compare(q.abserr(), p.abserr()));
        pieces.add(first);
        int n = 1;
        while (n < limit) {
            Estimate worst = pieces.poll();
            double mid = 0.5 * (worst.a() + worst.b());
            Estimate left = qk21(f, worst.a(), mid);
            Estimate right = qk21(f, mid, worst.b());
            pieces.add(left);
            pieces.add(right);
            n++;
            result += left.result() + right.result() - worst.result();
            abserr += left.abserr() + right.abserr() - worst.abserr();
            if (abserr <= Math.max(epsabs, epsrel * Math.abs(result))) {
                break;
            }
        }
        // re-sum for accuracy, as QUADPACK does at the end
        double sum = 0;
        double err = 0;
        for (Estimate e : pieces) {
            sum += e.result();
            err += e.abserr();
        }
        return new Result(sum, err, n);
    }

    /**
     * QUADPACK {@code QK21}: the 21-point Kronrod rule with the embedded 10-point Gauss rule.
     *
     * @param f the integrand
     * @param a the lower integration limit
     * @param b the upper integration limit
     * @return the 21-point estimate over {@code [a, b]}
     */
    public static Estimate qk21(DoubleUnaryOperator f, double a, double b) {
        double centr = 0.5 * (a + b);
        double hlgth = 0.5 * (b - a);
        double dhlgth = Math.abs(hlgth);
        double[] fv1 = new double[10];
        double[] fv2 = new double[10];
        double resg = 0.0;
        double fc = f.applyAsDouble(centr);
        double resk = WGK[10] * fc;
        double resabs = Math.abs(resk);
        for (int j = 0; j < 5; j++) {
            int jtw = 2 * j + 1;
            double absc = hlgth * XGK[jtw];
            double fval1 = f.applyAsDouble(centr - absc);
            double fval2 = f.applyAsDouble(centr + absc);
            fv1[jtw] = fval1;
            fv2[jtw] = fval2;
            double fsum = fval1 + fval2;
            resg = resg + WG[j] * fsum;
            resk = resk + WGK[jtw] * fsum;
            resabs = resabs + WGK[jtw] * (Math.abs(fval1) + Math.abs(fval2));
        }
        for (int j = 0; j < 5; j++) {
            int jtwm1 = 2 * j;
            double absc = hlgth * XGK[jtwm1];
            double fval1 = f.applyAsDouble(centr - absc);
            double fval2 = f.applyAsDouble(centr + absc);
            fv1[jtwm1] = fval1;
            fv2[jtwm1] = fval2;
            double fsum = fval1 + fval2;
            resk = resk + WGK[jtwm1] * fsum;
            resabs = resabs + WGK[jtwm1] * (Math.abs(fval1) + Math.abs(fval2));
        }
        double reskh = resk * 0.5;
        double resasc = WGK[10] * Math.abs(fc - reskh);
        for (int j = 0; j < 10; j++) {
            resasc = resasc + WGK[j] * (Math.abs(fv1[j] - reskh) + Math.abs(fv2[j] - reskh));
        }
        double result = resk * hlgth;
        resabs = resabs * dhlgth;
        resasc = resasc * dhlgth;
        double abserr = Math.abs((resk - resg) * hlgth);
        if (resasc != 0.0 && abserr != 0.0) {
            abserr = resasc * Math.min(1.0, Math.pow(200.0 * abserr / resasc, 1.5));
        }
        if (resabs > UFLOW / (50.0 * EPMACH)) {
            abserr = Math.max((EPMACH * 50.0) * resabs, abserr);
        }
        return new Estimate(a, b, result, abserr, resabs, resasc);
    }
}
