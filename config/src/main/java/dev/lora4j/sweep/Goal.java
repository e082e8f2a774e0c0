package dev.lora4j.sweep;

import dev.lora4j.config.Choices;
import java.util.Optional;

/** Whether a sweep's metric is better when lower or higher. */
public enum Goal {
    MINIMIZE("minimize"),
    MAXIMIZE("maximize");

    private final String json;

    Goal(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Optional<Goal> parse(String s) {
        return Choices.parse(values(), Goal::json, s);
    }

    /** Whether {@code a} is a better metric value than {@code b}. */
    public boolean better(double a, double b) {
        return this == MINIMIZE ? a < b : a > b;
    }
}
