package dev.lora4j.sweep;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.util.Optional;

/** Whether a sweep's metric is better when lower ({@code minimize}) or higher ({@code maximize}). */
public enum Goal implements Spelled {
    MINIMIZE,
    MAXIMIZE;

    public static Optional<Goal> parse(String s) {
        return Choices.parse(values(), s);
    }

    /** Whether {@code a} is a better metric value than {@code b}. */
    public boolean better(double a, double b) {
        return this == MINIMIZE ? a < b : a > b;
    }
}
