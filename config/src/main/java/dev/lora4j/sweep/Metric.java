package dev.lora4j.sweep;

import java.util.Objects;

/** What a sweep optimises: a metric the trials report (e.g. {@code eval_loss}) and its direction. */
public record Metric(String name, Goal goal) {
    public static final Metric DEFAULT = new Metric("eval_loss", Goal.MINIMIZE);

    public Metric {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(goal, "goal");
    }

    @Override
    public String toString() {
        return name + " " + goal.json();
    }
}
