package dev.lora4j.api;

import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Metric;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The outcome of a sweep: every trial's result, ranked by the sweep's metric (trials with a value first, best first;
 * then those without one: failed, rejected, cancelled), and the wall time.
 *
 * @param cancelled the sweep was stopped before every trial ended (cancelled, or stopped by a fault)
 * @param stopReason why a fault stopped the sweep (a full disk, the run folder removed), or null
 */
public record SweepReport(String name, Metric metric, List<TrialResult> leaderboard, Duration wallTime,
        boolean cancelled, String stopReason) {

    public SweepReport {
        leaderboard = rank(leaderboard, metric);
    }

    static List<TrialResult> rank(List<TrialResult> results, Metric metric) {
        List<TrialResult> sorted = new ArrayList<>(results);
        Comparator<TrialResult> byMetric = Comparator.comparing(r -> r.metric(metric.name()).orElse(Double.NaN));
        if (metric.goal() == Goal.MAXIMIZE) {
            byMetric = byMetric.reversed();
        }
        Comparator<TrialResult> withValueFirst = Comparator.comparing(r -> r.metric(metric.name()).isEmpty());
        sorted.sort(withValueFirst.thenComparing(byMetric).thenComparing(TrialResult::index));
        return List.copyOf(sorted);
    }

    /** The best trial by the metric, if any trial has a value. */
    public Optional<TrialResult> best() {
        return leaderboard.stream().filter(r -> r.metric(metric.name()).isPresent()).findFirst();
    }

    /** Every parameter any trial sets, in the order the trials first name them. */
    public List<String> parameterNames() {
        Set<String> names = new LinkedHashSet<>();
        leaderboard.forEach(r -> names.addAll(r.parameters().keySet()));
        return List.copyOf(names);
    }

    /** The sweep's metric first, then every other evaluation metric and the training loss any trial reports. */
    public List<String> metricNames() {
        Set<String> names = new LinkedHashSet<>();
        names.add(metric.name());
        for (TrialResult r : leaderboard) {
            r.metrics().keySet().stream().filter(k -> k.startsWith("eval_") || k.equals("train_loss"))
                    .forEach(names::add);
        }
        return List.copyOf(names);
    }

    public long count(TrialResult.Status status) {
        return leaderboard.stream().filter(r -> r.status() == status).count();
    }
}
