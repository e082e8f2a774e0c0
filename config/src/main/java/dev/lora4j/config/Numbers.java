package dev.lora4j.config;

import java.math.BigDecimal;

/** Number formatting shared by summaries, names and files: integral values print without a fraction. */
public final class Numbers {
    private Numbers() {}

    public static String format(double v) {
        if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
