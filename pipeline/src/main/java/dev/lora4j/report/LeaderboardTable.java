package dev.lora4j.report;

import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ranked trials as a table: rank, trial, its parameters, the metric then the other evaluation metrics, steps,
 * time, status, adapter (relative to the run folder), and why a trial did not finish.
 */
final class LeaderboardTable {
    private LeaderboardTable() {}

    static void render(Markup m, Path runFolder, SweepReport report, List<String> parameters,
            Map<String, String> labels, Map<String, String> colors, Map<String, String> liveStates) {
        String metric = report.metric().name();
        List<String> metrics = report.metricNames();
        m.open("div", "class", "table-wrap").open("table", "id", "leaderboard").open("thead").open("tr");
        m.element("th", "#", "class", "num");
        m.element("th", "trial");
        parameters.forEach(p -> m.element("th", labels.get(p), "class", "num", "title", p));
        metrics.forEach(k -> m.element("th", k, "class", k.equals(metric) ? "num metric" : "num"));
        boolean notes = report.leaderboard().stream().anyMatch(LeaderboardTable::explained);
        m.element("th", "steps", "class", "num").element("th", "time", "class", "num").element("th", "status")
                .element("th", "adapter");
        if (notes) {
            m.element("th", "why it did not finish");
        }
        m.close("tr").close("thead").open("tbody");
        int rank = 0;
        for (TrialResult t : report.leaderboard()) {
            boolean ranked = t.metric(metric).isPresent();
            String rowClass = ranked && rank == 0 ? "best" : null;
            m.open("tr", "id", "trial-" + t.trialId(), "data-trial", t.trialId(), "class", rowClass);
            m.element("td", ranked ? Integer.toString(++rank) : "—", "class", "num rank");
            m.open("td", "class", "trial").open("span", "class", "swatch", "style", "background:"
                    + colors.get(t.trialId())).close("span").text(" " + t.name() + " ")
                    .element("small", t.trialId()).close("td");
            for (String p : parameters) {
                m.element("td", Figures.parameter(t.parameters().get(p)), "class", "num");
            }
            for (String k : metrics) {
                m.element("td", t.metric(k).map(Figures::value).orElse("—"), "class", k.equals(metric)
                        ? "num metric" : "num");
            }
            m.element("td", Long.toString(t.steps()), "class", "num");
            m.element("td", Figures.duration(t.seconds()), "class", "num");
            // a trial still running has no final status yet; the live page says what it is doing instead
            String status = liveStates.getOrDefault(t.trialId(), t.status().name().toLowerCase(Locale.ROOT));
            m.open("td").element("span", status, "class", "status " + status).close("td");
            m.open("td");
            String adapter = relativeAdapter(runFolder, t);
            if (adapter == null) {
                m.text("—");
            } else {
                m.open("a", "href", adapter + "/").element("code", adapter).close("a");
            }
            m.close("td");
            if (notes) {
                m.element("td", explained(t) ? t.reason() : "", "class", "reason");
            }
            m.close("tr");
        }
        m.close("tbody").close("table").close("div");
    }

    /** A trial that did not finish normally, and says why (failed, rejected, cancelled, stopped early). */
    private static boolean explained(TrialResult t) {
        return t.reason() != null && !t.reason().isBlank() && t.status() != TrialResult.Status.FINISHED;
    }

    /** Relative, so the link works wherever the run folder is moved; absent where no adapter was written. */
    private static String relativeAdapter(Path runFolder, TrialResult t) {
        if (t.adapterDir().isEmpty()) {
            return null;
        }
        Path base = runFolder.toAbsolutePath().normalize();
        Path adapter = t.adapterDir().get().toAbsolutePath().normalize();
        if (!Files.isDirectory(adapter)) {
            return null;
        }
        Path rel = adapter.startsWith(base) ? base.relativize(adapter) : adapter;
        return rel.toString().replace('\\', '/');
    }
}
