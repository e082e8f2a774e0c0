package dev.lora4j.sweep;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.util.Optional;

/** How a random sweep draws a value between {@code min} and {@code max} (both inclusive for integers). */
public enum Distribution implements Spelled {
    UNIFORM,
    /** Uniform in log space; min and max are the values themselves (W&B calls this log_uniform_values). */
    LOG_UNIFORM,
    INT_UNIFORM;

    public static Optional<Distribution> parse(String s) {
        return Choices.parse(values(), s);
    }

    /** A value for a uniform draw {@code u} in [0, 1). */
    double draw(double min, double max, double u) {
        return switch (this) {
            case UNIFORM -> min + u * (max - min);
            case LOG_UNIFORM -> Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
            case INT_UNIFORM -> Math.min(max, Math.floor(min + u * (max - min + 1)));
        };
    }
}
