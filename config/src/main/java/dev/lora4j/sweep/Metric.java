package dev.lora4j.sweep;

import dev.lora4j.config.TaskType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** What a sweep optimises: a metric the trials report (e.g. {@code eval_loss}) and its direction. */
public record Metric(String name, Goal goal) {
    public static final Metric DEFAULT = new Metric("eval_loss", Goal.MINIMIZE);

    public Metric {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(goal, "goal");
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
        return name + " " + goal.json();
    }
}
