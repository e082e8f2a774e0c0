package dev.lora4j.sweep;

import dev.lora4j.config.TaskType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * What a sweep optimises: a metric the trials report (e.g. {@code eval_loss}), its direction and, as W&B's
 * {@code metric.target}, a value that ends the sweep once a trial reaches it.
 *
 * @param target empty: the sweep runs every trial
 */
public record Metric(String name, Goal goal, OptionalDouble target) {
    public static final Metric DEFAULT = new Metric("eval_loss", Goal.MINIMIZE);

    public Metric {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(goal, "goal");
        Objects.requireNonNull(target, "target");
    }

    /** A metric without a target. */
    public Metric(String name, Goal goal) {
        this(name, goal, OptionalDouble.empty());
    }

    /** Whether {@code value} reaches the target: at or below it when minimizing, at or above when maximizing. */
    public boolean reaches(double value) {
        if (target.isEmpty() || Double.isNaN(value)) {
            return false;
        }
        return goal == Goal.MAXIMIZE ? value >= target.getAsDouble() : value <= target.getAsDouble();
    }

    /**
     * The metrics a trial of {@code task} reports, by the names a sweep's {@code metric.name} may use: training's
     * ({@code train_loss}, throughput, steps) and, with evaluation data, {@code eval_loss} and the task's own
     * ({@code eval_perplexity} for causal LMs, {@code eval_accuracy} for classifiers).
     */
    public static List<String> producedBy(TaskType task) {
        List<String> m = new ArrayList<>(List.of("eval_loss"));
        if (task != TaskType.SEQ_CLS) {
            m.addAll(List.of("eval_perplexity", "eval_tokens"));
        }
        if (task != TaskType.CAUSAL_LM) {
            m.addAll(List.of("eval_accuracy", "eval_samples"));
        }
        m.addAll(List.of("train_loss", "tokens_per_s", "examples_per_s", "train_runtime_s", "steps", "best_step"));
        return List.copyOf(m);
    }

    @Override
    public String toString() {
        return name + " " + goal.json() + (target.isPresent() ? " (target " + dev.lora4j.config.Numbers.format(
                target.getAsDouble()) + ")" : "");
    }
}
