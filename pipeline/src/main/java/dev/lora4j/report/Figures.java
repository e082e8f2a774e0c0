package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;

/** How numbers read on the page: short, locale-independent, never a wall of digits. */
final class Figures {
    private Figures() {}

    /** Four significant digits; very small or large magnitudes in e-notation ({@code 5e-4}, {@code 1.25e+06}). */
    static String value(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "∞" : "-∞";
        }
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e-3 && a < 1e6) {
            return new BigDecimal(v).round(new MathContext(4, RoundingMode.HALF_EVEN)).stripTrailingZeros()
                    .toPlainString();
        }
        return scientific(v, 3);
    }

    /** A tick at a multiple of {@code step}: exactly as many decimals as the step needs. */
    static String tick(double v, double step) {
        if (Math.abs(v) < step * 1e-6) {
            return "0";
        }
        if (step < 1e-3 || Math.abs(v) >= 1e6) {
            return scientific(v, 3);
        }
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String scientific(double v, int digits) {
        String s = String.format(Locale.ROOT, "%." + (digits - 1) + "e", v);
        String mantissa = s.substring(0, s.indexOf('e'));
        if (mantissa.contains(".")) {
            mantissa = mantissa.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        int exponent = Integer.parseInt(s.substring(s.indexOf('e') + 1));
        return mantissa + "e" + (exponent > 0 ? "+" : "") + exponent;
    }

    /** A parameter's value as the sweep file would spell it: numbers short, text bare, lists as JSON. */
    static String parameter(JsonNode v) {
        if (v == null || v.isMissingNode() || v.isNull()) {
            return "—";
        }
        if (v.isNumber()) {
            return value(v.asDouble());
        }
        return v.isTextual() ? v.asText() : v.toString();
    }

    /** {@code 0.9 s}, {@code 2m 58s}, {@code 1h 04m}. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds <= 0) {
            return "—";
        }
        if (seconds < 10) {
            return String.format(Locale.ROOT, "%.1f s", seconds);
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh %02dm", s / 3600, s / 60 % 60);
    }
}
