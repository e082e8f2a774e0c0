package dev.lora4j.api;

import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.HtmlReport;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Metric;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The outcome of a sweep: every trial's result, ranked by the sweep's metric (trials with a value first, best first;
 * then those without one: failed, rejected, cancelled), and the wall time. {@link #read(Path)} rebuilds one from a run
 * folder alone; {@link #writeHtml(Path)} writes the folder's {@code report.html}.
 *
 * @param name the sweep's name
 * @param metric the metric that ranks the trials
 * @param leaderboard every trial's result, best first
 * @param wallTime how long the sweep ran
 * @param cancelled the sweep was stopped before every trial ended (cancelled, or stopped by a fault)
 * @param stopReason why a fault stopped the sweep (a full disk, the run folder removed), or null
 */
public record SweepReport(String name, Metric metric, List<TrialResult> leaderboard, Duration wallTime,
        boolean cancelled, String stopReason) {

    /**
     * Ranks the leaderboard.
     *
     * @param name the sweep's name
     * @param metric the metric that ranks the trials
     * @param leaderboard every trial's result, in any order
     * @param wallTime how long the sweep ran
     * @param cancelled whether it was stopped before every trial ended
     * @param stopReason why a fault stopped it, or null
     */
    public SweepReport {
        leaderboard = rank(leaderboard, metric);
    }

    /**
     * A sweep's report read back from its run folder's files alone ({@code leaderboard.csv}, each trial's
     * {@code params.json} and {@code result.json}, {@code sweep.yaml}); trials the leaderboard does not list yet
     * appear as cancelled.
     *
     * @param runFolder the sweep's run folder
     * @return the report
     */
    public static SweepReport read(Path runFolder) {
        return new SweepFolder(runFolder).readReport();
    }

    /**
     * Writes {@code report.html} into the run folder: loss and metric curves from each trial's {@code progress.csv},
     * the leaderboard, the metric by parameter; self-contained, no network.
     *
     * @param runFolder the sweep's run folder
     * @return the file written
     */
    public Path writeHtml(Path runFolder) {
        return HtmlReport.write(runFolder, this);
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

    /**
     * The best trial by the metric.
     *
     * @return the best trial, empty if no trial has a value
     */
    public Optional<TrialResult> best() {
        return leaderboard.stream().filter(r -> r.metric(metric.name()).isPresent()).findFirst();
    }

    /**
     * Every parameter any trial sets, in the order the trials first name them.
     *
     * @return canonical field names ({@code lora.r})
     */
    public List<String> parameterNames() {
        Set<String> names = new LinkedHashSet<>();
        leaderboard.forEach(r -> names.addAll(r.parameters().keySet()));
        return List.copyOf(names);
    }

    /**
     * The sweep's metric first, then every other evaluation metric and the training loss any trial reports.
     *
     * @return metric names
     */
    public List<String> metricNames() {
        Set<String> names = new LinkedHashSet<>();
        names.add(metric.name());
        for (TrialResult r : leaderboard) {
            r.metrics().keySet().stream().filter(k -> k.startsWith("eval_") || k.equals("train_loss"))
                    .forEach(names::add);
        }
        return List.copyOf(names);
    }

    /**
     * How many trials ended so.
     *
     * @param status a terminal state
     * @return the number of trials in it
     */
    public long count(TrialResult.Status status) {
        return leaderboard.stream().filter(r -> r.status() == status).count();
    }
}
