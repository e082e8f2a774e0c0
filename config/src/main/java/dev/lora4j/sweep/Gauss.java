package dev.lora4j.sweep;

/**
 * The standard normal distribution's CDF and quantile, in plain Java (the JDK has no erf), accurate to about 1e-14:
 * W&B draws normal parameters by the quantile of one uniform draw, and the TPE sampler needs the CDF to truncate its
 * kernels.
 */
final class Gauss {
    private static final double SQRT2 = Math.sqrt(2);
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

    private Gauss() {}

    /** P(Z <= x). */
    static double cdf(double x) {
        // the lower tail from erfc keeps its relative precision far out, where 1 - erf would round to 0
        return x < 0 ? 0.5 * erfc(-x / SQRT2) : 1 - 0.5 * erfc(x / SQRT2);
    }

    /** The density of Z at x. */
    static double pdf(double x) {
        return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    }

    /** The x with P(Z <= x) = p, for p in (0, 1); -40 and 40 stand for the infinite ends. */
    static double quantile(double p) {
        if (!(p > 0)) {
            return -40;
        }
        if (!(p < 1)) {
            return 40;
        }
        // bisection is slow but cannot diverge; 200 halvings of [-40, 40] reach the spacing of doubles
        double lo = -40;
        double hi = 40;
        for (int i = 0; i < 200 && lo < hi; i++) {
            double mid = 0.5 * (lo + hi);
            if (mid == lo || mid == hi) {
                break;
            }
            if (cdf(mid) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** erfc(x) for x >= 0. */
    static double erfc(double x) {
        if (x < 2.5) {
            return 1 - erfSeries(x);
        }
        // continued fraction erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
        // evaluated bottom-up with enough terms for x >= 2.5
        double f = x;
        for (int k = 60; k >= 1; k--) {
            f = x + (k / 2.0) / f;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    /** erf(x) = 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (1 3 5 ... (2n+1)): positive terms, no cancellation. */
    private static double erfSeries(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 200; n++) {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
    }
}
