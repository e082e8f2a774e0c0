package dev.lora4j.config;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/** Number formatting shared by summaries, names and files: integral values print without a fraction. */
public final class Numbers {
    private Numbers() {}

    public static String format(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.toString(v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return shortest(v).toPlainString();
    }

    /**
     * The shortest decimal that reads back as exactly {@code v}. Computed with BigDecimal rather than
     * {@link Double#toString} because the latter changed its digits in JDK 19, and trial ids hash these strings.
     */
    public static BigDecimal shortest(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("not a finite number: " + v);
        }
        if (v == 0) {
            return BigDecimal.ZERO;
        }
        BigDecimal exact = new BigDecimal(v);
        for (int digits = 1; digits < 17; digits++) {
            BigDecimal candidate = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN));
            if (candidate.doubleValue() == v) {
                return candidate.stripTrailingZeros();
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
    }

    /** Python's {@code repr(float)}, which PEFT's json.dumps uses: {@code 0.05}, {@code 16.0}, {@code 1e-05}. */
    public static String pythonRepr(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0) {
            return 1 / v < 0 ? "-0.0" : "0.0";
        }
        BigDecimal d = shortest(v);
        String digits = d.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - d.scale();
        String sign = v < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = d.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        int e = Math.abs(exponent);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" + e : Integer.toString(e));
    }

    /**
     * Compact and filesystem-safe, for trial names: {@code 16}, {@code 0.05}, {@code 5e-4}, {@code 2.5e-5}.
     * Small magnitudes use an exponent because learning rates are what people read in a name.
     */
    public static String compact(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v) || v == 0 || (v == Math.rint(v) && Math.abs(v) < 1e15)) {
            return format(v);
        }
        if (Math.abs(v) >= 0.01 && Math.abs(v) < 1e15) {
            return format(v);
        }
        BigDecimal d = shortest(v);
        String digits = d.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - d.scale();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (v < 0 ? "-" : "") + mantissa + "e" + exponent;
    }
}
