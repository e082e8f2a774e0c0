package dev.lora4j.sweep;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.util.Optional;

/**
 * W&B's parameter distributions, with W&B's meanings (wandb/sweeps {@code params.py}, {@code HyperParameter.ppf}): a
 * value is drawn from one uniform {@code u} in [0, 1) by the distribution's quantile function. The {@code _values}
 * distributions take their bounds as values; {@code log_uniform}, {@code q_log_uniform} and {@code inv_log_uniform}
 * take natural-log exponents, as W&B's first versions did ({@code log_uniform} with min -9.2, max -4.6 draws between
 * 1e-4 and 1e-2). The {@code q_} ones round to a multiple of {@code q} (half to even, as numpy).
 */
public enum Distribution implements Spelled {
    CONSTANT(Kind.CONSTANT),
    CATEGORICAL(Kind.CATEGORICAL),
    CATEGORICAL_W_PROBABILITIES(Kind.CATEGORICAL),
    UNIFORM(Kind.BOUNDED),
    INT_UNIFORM(Kind.BOUNDED),
    Q_UNIFORM(Kind.BOUNDED),
    LOG_UNIFORM(Kind.BOUNDED),
    LOG_UNIFORM_VALUES(Kind.BOUNDED),
    Q_LOG_UNIFORM(Kind.BOUNDED),
    Q_LOG_UNIFORM_VALUES(Kind.BOUNDED),
    INV_LOG_UNIFORM(Kind.BOUNDED),
    INV_LOG_UNIFORM_VALUES(Kind.BOUNDED),
    NORMAL(Kind.GAUSSIAN),
    Q_NORMAL(Kind.GAUSSIAN),
    LOG_NORMAL(Kind.GAUSSIAN),
    Q_LOG_NORMAL(Kind.GAUSSIAN);

    /** Which keys a distribution reads. */
    public enum Kind {
        /** {@code value}. */
        CONSTANT,
        /** {@code values} (and {@code probabilities}). */
        CATEGORICAL,
        /** {@code min}, {@code max} (and {@code q}). */
        BOUNDED,
        /** {@code mu}, {@code sigma} (and {@code q}). */
        GAUSSIAN
    }

    private final Kind kind;

    Distribution(Kind kind) {
        this.kind = kind;
    }

    public static Optional<Distribution> parse(String s) {
        return Choices.parse(values(), s);
    }

    public Kind kind() {
        return kind;
    }

    /** Whether values are rounded to a multiple of {@code q}. */
    public boolean quantized() {
        return name().startsWith("Q_");
    }

    /** Whether {@code min} and {@code max} are natural-log exponents (W&B's first log distributions). */
    public boolean exponents() {
        return this == LOG_UNIFORM || this == Q_LOG_UNIFORM || this == INV_LOG_UNIFORM;
    }

    /** Whether {@code min} must be > 0 because its logarithm is taken. */
    public boolean logOfBounds() {
        return this == LOG_UNIFORM_VALUES || this == Q_LOG_UNIFORM_VALUES || this == INV_LOG_UNIFORM_VALUES;
    }

    /** The distribution that reads the same bounds as values: {@code log_uniform} to {@code log_uniform_values}. */
    public Optional<Distribution> withValues() {
        return switch (this) {
            case LOG_UNIFORM -> Optional.of(LOG_UNIFORM_VALUES);
            case Q_LOG_UNIFORM -> Optional.of(Q_LOG_UNIFORM_VALUES);
            case INV_LOG_UNIFORM -> Optional.of(INV_LOG_UNIFORM_VALUES);
            default -> Optional.empty();
        };
    }

    /**
     * The value at quantile {@code u} in [0, 1]: {@code a, b} are min and max, or mu and sigma. Integers are returned
     * as whole doubles.
     */
    double draw(double a, double b, double q, double u) {
        return switch (this) {
            case UNIFORM -> a + u * (b - a);
            case INT_UNIFORM -> Math.min(b, Math.floor(a + u * (b - a + 1)));
            case Q_UNIFORM -> round(a + u * (b - a), q);
            case LOG_UNIFORM -> Math.exp(a + u * (b - a));
            case LOG_UNIFORM_VALUES -> Math.exp(Math.log(a) + u * (Math.log(b) - Math.log(a)));
            case Q_LOG_UNIFORM -> round(Math.exp(a + u * (b - a)), q);
            case Q_LOG_UNIFORM_VALUES -> round(Math.exp(Math.log(a) + u * (Math.log(b) - Math.log(a))), q);
            // W&B: exp(-uniform.ppf(1 - u, min, max - min)); 1/value is log-uniform
            case INV_LOG_UNIFORM -> Math.exp(-(a + (1 - u) * (b - a)));
            case INV_LOG_UNIFORM_VALUES -> Math.exp(-(-Math.log(b) + (1 - u) * (Math.log(b) - Math.log(a))));
            case NORMAL -> a + b * Gauss.quantile(u);
            case Q_NORMAL -> round(a + b * Gauss.quantile(u), q);
            case LOG_NORMAL -> Math.exp(a + b * Gauss.quantile(u));
            case Q_LOG_NORMAL -> round(Math.exp(a + b * Gauss.quantile(u)), q);
            case CONSTANT, CATEGORICAL, CATEGORICAL_W_PROBABILITIES -> throw new IllegalStateException(json()
                    + " has no quantile function");
        };
    }

    /** numpy's {@code round(x / q) * q}: halves go to the even multiple. */
    private static double round(double x, double q) {
        return Math.rint(x / q) * q;
    }
}
