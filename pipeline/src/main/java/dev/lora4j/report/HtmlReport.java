package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.Goal;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A sweep's {@code report.html}: one self-contained page (inline SVG charts, stylesheet and script; no network, no
 * fonts or images to fetch) with the training loss and metric curves of every trial, the metric against each
 * swept parameter, parallel coordinates over all of them, and the leaderboard. The charts are plain markup, so the
 * page reads without JavaScript; the small script only highlights one trial across charts on hover.
 *
 * <p>Marked for tools: {@code svg.chart#loss-curves} and {@code #metric-curves} hold one
 * {@code path.curve[data-trial]} per trial with points; {@code #param-<name>} one {@code circle.point} per trial
 * with a metric value; {@code #parallel-coordinates} one {@code path.line} per trial; {@code table#leaderboard} one
 * row per trial in rank order.
 */
public final class HtmlReport {
    public static final String FILE = "report.html";

    private static final String STYLE = resource("report.css");
    private static final String SCRIPT = resource("report.js");

    private HtmlReport() {}

    /** Writes {@code report.html} into the sweep's run folder, reading each trial's progress.csv there. */
    public static Path write(Path runFolder, SweepReport report) {
        new SweepFolder(runFolder).writeAtomically(FILE, render(runFolder, report));
        return runFolder.resolve(FILE);
    }

    /** Rebuilds {@code report.html} from the run folder's files alone (see {@link SweepFolder#readReport()}). */
    public static Path write(Path runFolder) {
        return write(runFolder, new SweepFolder(runFolder).readReport());
    }

    /** The page as text. */
    public static String render(Path runFolder, SweepReport report) {
        return new Page(runFolder, report, null).render();
    }

    /**
     * The same page, served live by the dashboard: the stylesheet and scripts are files of the server (its
     * Content-Security-Policy allows no inline script or style), a live panel that the dashboard's script fills from
     * the event stream sits under the header, and trials still running show {@code live.states()} as their status.
     * The dashboard's script swaps in the header and {@code #report} of a fresh rendering as steps arrive, so both
     * pages are drawn by this one code path.
     */
    public static String renderLive(Path runFolder, SweepReport report, Live live) {
        return new Page(runFolder, report, live).render();
    }

    /**
     * What a served page adds.
     *
     * @param token the run's dashboard token, for the script's POSTs (the page is only served to its holders)
     * @param states status text by trial id for trials that have not ended (queued, running)
     * @param readOnly no sweep process of this server owns the folder: no stop buttons
     */
    public record Live(String token, Map<String, String> states, boolean readOnly) {}

    /** The served page's stylesheet and scripts, by file name, as the dashboard serves them. */
    public static String asset(String name) {
        return switch (name) {
            case "report.css" -> STYLE;
            case "report.js" -> SCRIPT;
            case "dashboard.css", "dashboard.js" -> file(name);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static String resource(String name) {
        String text = file(name);
            // they go into the page unescaped: they must be valid XML text as well as CSS and JavaScript
        if (text.contains("<") || text.contains("&")) {
            throw new IllegalStateException(name + " must not contain < or &");
        }
        return text;
    }

    /** A resource as text; the dashboard's own files are served as files, never inlined. */
    private static String file(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One rendering: the trials' colours, curves and parameter labels, shared by every chart. */
    private static final class Page {
        private final Path runFolder;
        private final SweepReport report;
        private final String metric;
        private final List<TrialResult> inSweepOrder;
        private final Map<String, String> colors = new LinkedHashMap<>();
        private final Map<String, TrialCurves> curves = new LinkedHashMap<>();
        private final List<String> parameters;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final Markup m = new Markup();
        private final Live live;

        Page(Path runFolder, SweepReport report, Live live) {
            this.live = live;
            if (live != null) {
                m.styleAttributeAs("data-style");
            }
            this.runFolder = runFolder;
            this.report = report;
            this.metric = report.metric().name();
            this.inSweepOrder = report.leaderboard().stream().sorted(Comparator.comparingLong(TrialResult::index))
                    .toList();
            SweepFolder folder = new SweepFolder(runFolder);
            for (TrialResult t : inSweepOrder) {
                colors.put(t.trialId(), Palette.trial(colors.size()));
                curves.put(t.trialId(), progress(folder, t.trialId()));
            }
            this.parameters = report.parameterNames();
            for (String p : parameters) {
                // lora.r reads as r, unless another section has an r too
                String bare = p.substring(p.indexOf('.') + 1);
                boolean clash = parameters.stream().filter(q -> q.substring(q.indexOf('.') + 1).equals(bare))
                        .count() > 1;
                labels.put(p, clash ? p : bare);
            }
        }

        private static TrialCurves progress(SweepFolder folder, String trialId) {
            try {
                return TrialCurves.of(folder.trial(trialId).readProgress());
            } catch (UncheckedIOException e) {
                // a report shows what it can; an unreadable progress file is a trial without curves
                return TrialCurves.NONE;
            }
        }

        String render() {
            m.raw("<!DOCTYPE html>\n");
            m.open("html", "lang", "en").newline().open("head").newline();
            m.empty("meta", "charset", "utf-8");
            m.empty("meta", "name", "viewport", "content", "width=device-width, initial-scale=1");
            // an empty icon keeps the browser from asking for /favicon.ico
            m.empty("link", "rel", "icon", "href", "data:,");
            m.element("title", report.name() + " · lora4j sweep report").newline();
            if (live == null) {
                m.open("style").raw(STYLE).close("style").newline();
            } else {
                m.empty("link", "rel", "stylesheet", "href", "static/report.css");
                m.empty("link", "rel", "stylesheet", "href", "static/dashboard.css");
                m.empty("meta", "name", "lora4j-token", "content", live.token());
            }
            m.close("head").newline().open("body", "data-live", live == null ? null : live.readOnly() ? "read-only"
                    : "control").newline().open("main");
            header();
            if (live != null) {
                liveSection();
                m.open("div", "id", "report");
            }
            curvesSection();
            parametersSection();
            lineageSection();
            m.open("section", "id", "leaderboard-section").element("h2", "Leaderboard");
            LeaderboardTable.render(m, runFolder, report, parameters, labels, colors,
                    live == null ? Map.of() : live.states());
            m.close("section").newline();
            m.open("footer").text(live != null ? "Served live by lora4j from the sweep's events and its run folder's"
                    + " files; it loads nothing from elsewhere. Hover a trial to highlight it in every chart."
                    : "Generated by lora4j from the run folder's files (leaderboard.csv, trials/*/"
                    + "progress.csv). Self-contained: it loads nothing from the network. Hover a trial to "
                    + "highlight it in every chart.").close("footer");
            if (live != null) {
                m.close("div");
            }
            m.close("main").newline();
            if (live == null) {
                m.open("script").raw(SCRIPT).close("script").newline();
            } else {
                m.open("script", "src", "static/report.js").close("script").newline();
                m.open("script", "src", "static/dashboard.js").close("script").newline();
            }
            m.close("body").newline().close("html").newline();
            return m.toString();
        }

        /** The panel the dashboard's script fills from the event stream (text only, never markup from data). */
        private void liveSection() {
            m.open("section", "id", "live").element("h2", "Live");
            m.open("div", "class", "live-bar");
            m.element("span", "connecting", "id", "sweep-state", "class", "status");
            m.element("span", "", "id", "throughput");
            if (!live.readOnly()) {
                m.element("button", "Stop the sweep", "id", "stop-sweep", "type", "button");
            }
            m.close("div");
            m.open("div", "class", "charts");
            m.open("figure").element("figcaption", "Device lanes").open("ul", "id", "lanes").close("ul")
                    .close("figure");
            m.open("figure").element("figcaption", "Failures and stops").open("ul", "id", "incidents").close("ul")
                    .close("figure");
            m.close("div");
            m.open("div", "class", "table-wrap").open("table", "id", "live-trials").open("thead").open("tr")
                    .element("th", "trial").element("th", "state").element("th", "lane")
                    .element("th", "step", "class", "num").element("th", "loss", "class", "num")
                    .element("th", metric, "class", "num").element("th", "rung", "class", "num")
                    .element("th", "why").element("th", "")
                    .close("tr").close("thead").open("tbody").close("tbody").close("table").close("div");
            m.close("section").newline();
        }

        private void header() {
            m.open("header", "class", "top");
            m.element("p", live == null ? "lora4j sweep report" : "lora4j sweep · live", "class", "kicker");
            m.element("h1", report.name());
            m.open("div", "class", "facts");
            fact("metric", metric, report.metric().goal() == Goal.MINIMIZE ? "lower is better"
                    : "higher is better");
            StringBuilder byStatus = new StringBuilder();
            for (TrialResult.Status s : TrialResult.Status.values()) {
                long n = report.count(s);
                if (n > 0) {
                    byStatus.append(byStatus.length() == 0 ? "" : " · ").append(n).append(' ')
                            .append(s.name().toLowerCase(Locale.ROOT));
                }
            }
            fact("trials", Integer.toString(report.leaderboard().size()), byStatus.length() == 0 ? "none"
                    : byStatus.toString());
            fact("wall time", Figures.duration(report.wallTime().toMillis() / 1000.0),
                    report.cancelled() ? "interrupted: resume with --resume" : null);
            if (report.best().isPresent()) {
                TrialResult best = report.best().get();
                m.open("div", "class", "fact best", "data-trial", best.trialId());
                m.element("div", "best trial", "class", "k");
                m.open("div", "class", "v").open("a", "href", "#trial-" + best.trialId()).text(best.name())
                        .close("a").close("div");
                m.element("div", metric + " " + Figures.value(best.metric(metric).orElseThrow()), "class", "d");
                m.close("div");
            } else {
                fact("best trial", "—", "no trial has a " + metric);
            }
            m.close("div").close("header").newline();
        }

        /**
         * Population-based training: one row per copied checkpoint (which trial copied which at which step, and the
         * configuration it trained with from there), each trial's rows in step order; absent when nothing was copied.
         */
        private void lineageSection() {
            SweepFolder folder = new SweepFolder(runFolder);
            Map<String, String> names = new LinkedHashMap<>();
            inSweepOrder.forEach(t -> names.put(t.trialId(), t.name()));
            List<String[]> rows = new ArrayList<>();
            for (TrialResult t : inSweepOrder) {
                List<com.fasterxml.jackson.databind.node.ObjectNode> lineage;
                try {
                    lineage = folder.files(t.trialId()).lineage();
                } catch (UncheckedIOException e) {
                    continue;
                }
                for (JsonNode line : lineage) {
                    StringBuilder config = new StringBuilder();
                    line.path("parameters").properties().forEach(e -> config.append(config.length() == 0 ? "" : ", ")
                            .append(labels.getOrDefault(e.getKey(), e.getKey().substring(e.getKey().indexOf('.')
                                    + 1))).append(' ').append(Figures.parameter(e.getValue())));
                    String from = line.path("from").asText();
                    rows.add(new String[] {t.trialId(), line.path("step").asText(), from, config.toString()});
                }
            }
            if (rows.isEmpty()) {
                return;
            }
            m.open("section", "id", "lineage-section").element("h2", "Population-based training: lineage");
            m.element("p", "At each perturbation step a trial in the bottom quantile copied the checkpoint of that "
                    + "step of a top trial and trained on with its configuration, perturbed.");
            m.open("table", "id", "lineage").open("thead").open("tr").element("th", "trial").element("th", "step")
                    .element("th", "copied").element("th", "trained on with").close("tr").close("thead");
            m.open("tbody");
            for (String[] r : rows) {
                m.open("tr", "data-trial", r[0]);
                m.open("td").open("a", "href", "#trial-" + r[0]).text(names.getOrDefault(r[0], r[0])).close("a")
                        .close("td");
                m.element("td", r[1]);
                m.open("td", "data-from", r[2]).open("a", "href", "#trial-" + r[2])
                        .text(names.getOrDefault(r[2], r[2]) + " (" + r[2] + ")").close("a").close("td");
                m.element("td", r[3]);
                m.close("tr").newline();
            }
            m.close("tbody").close("table").close("section").newline();
        }

        private void fact(String key, String value, String detail) {
            m.open("div", "class", "fact").element("div", key, "class", "k").element("div", value, "class", "v");
            if (detail != null) {
                m.element("div", detail, "class", "d");
            }
            m.close("div");
        }

        private void curvesSection() {
            m.open("section", "id", "curves").element("h2", "Training");
            m.open("ul", "class", "legend", "id", "legend");
            for (TrialResult t : inSweepOrder) {
                m.open("li", "data-trial", t.trialId()).open("span", "class", "swatch", "style", "background:"
                        + colors.get(t.trialId())).close("span").text(t.name()).close("li");
            }
            m.close("ul");
            m.open("div", "class", "charts");
            figure("Training loss", () -> LineChart.render(m, "loss-curves", "Training loss by step", "loss",
                    series(TrialCurves.LOSS)));
            String column = metricColumn();
            figure(metric, () -> LineChart.render(m, "metric-curves", metric + " by step (evaluations)", metric,
                    series(column)));
            boolean evalLossToo = !column.equals("eval_loss")
                    && curves.values().stream().anyMatch(c -> !c.column("eval_loss").isEmpty());
            if (evalLossToo) {
                figure("eval_loss", () -> LineChart.render(m, "eval-loss-curves", "eval_loss by step (evaluations)",
                        "eval_loss", series("eval_loss")));
            }
            m.close("div").close("section").newline();
        }

        /** The progress.csv column that holds the metric per step: train_loss is the training rows' loss. */
        private String metricColumn() {
            return metric.equals("train_loss") ? TrialCurves.LOSS : metric;
        }

        private List<LineChart.Series> series(String column) {
            List<LineChart.Series> series = new ArrayList<>();
            for (TrialResult t : inSweepOrder) {
                series.add(new LineChart.Series(t.trialId(), t.name(), colors.get(t.trialId()),
                        curves.get(t.trialId()).column(column)));
            }
            return series;
        }

        private void parametersSection() {
            m.open("section", "id", "parameters").element("h2", metric + " by parameter");
            if (parameters.isEmpty()) {
                m.element("p", "This sweep varies no parameter.", "class", "note");
                m.close("section").newline();
                return;
            }
            Map<String, Scale> scales = new LinkedHashMap<>();
            for (String p : parameters) {
                scales.put(p, Scale.of(inSweepOrder.stream().map(t -> t.parameters().get(p)).toList()));
            }
            m.open("div", "class", "charts params");
            List<String> ids = new ArrayList<>();
            for (String p : parameters) {
                String id = uniqueId("param-" + p.replaceAll("[^A-Za-z0-9._-]", "-"), ids);
                List<ScatterChart.Dot> dots = inSweepOrder.stream().map(t -> new ScatterChart.Dot(t.trialId(),
                        t.name(), colors.get(t.trialId()), t.parameters().get(p),
                        t.metric(metric).orElse(Double.NaN))).toList();
                figure(metric + " vs " + labels.get(p), () -> ScatterChart.render(m, id, metric + " vs " + p,
                        labels.get(p), scales.get(p), metric, dots));
            }
            m.close("div");
            parallelCoordinates(scales);
            m.close("section").newline();
        }

        private void parallelCoordinates(Map<String, Scale> scales) {
            List<Double> values = inSweepOrder.stream().map(t -> t.metric(metric).orElse(Double.NaN)).toList();
            Scale metricScale = Scale.numbers(values, true);
            boolean minimize = report.metric().goal() == Goal.MINIMIZE;
            List<ParallelCoordinates.Axis> axes = new ArrayList<>();
            parameters.forEach(p -> axes.add(new ParallelCoordinates.Axis(labels.get(p), scales.get(p), false)));
            axes.add(new ParallelCoordinates.Axis(metric, metricScale, minimize));
            double worst = values.stream().filter(Double::isFinite).reduce(minimize ? Math::max : Math::min)
                    .orElse(Double.NaN);
            double best = values.stream().filter(Double::isFinite).reduce(minimize ? Math::min : Math::max)
                    .orElse(Double.NaN);
            List<ParallelCoordinates.Line> lines = new ArrayList<>();
            for (TrialResult t : inSweepOrder) {
                List<JsonNode> at = new ArrayList<>();
                parameters.forEach(p -> at.add(t.parameters().get(p)));
                double v = t.metric(metric).orElse(Double.NaN);
                at.add(ParallelCoordinates.number(v));
                double goodness = !Double.isFinite(v) ? Double.NaN : best == worst ? 1 : (v - worst) / (best - worst);
                lines.add(new ParallelCoordinates.Line(t.trialId(), t.name(), at, goodness));
            }
            m.open("figure", "class", "wide").element("figcaption", "Parallel coordinates");
            ParallelCoordinates.render(m, "parallel-coordinates", "Parallel coordinates: parameters and " + metric,
                    axes, lines);
            m.open("div", "class", "ramp").element("span", Double.isFinite(worst) ? "worst " + Figures.value(worst)
                    : "worst");
            m.open("span", "class", "bar", "style", "background:linear-gradient(90deg," + Palette.ramp(0) + ","
                    + Palette.ramp(0.5) + "," + Palette.ramp(1) + ")").close("span");
            m.element("span", Double.isFinite(best) ? "best " + Figures.value(best) : "best");
            m.element("span", "dashed grey: no " + metric, "class", "muted");
            m.close("div").close("figure");
        }

        private void figure(String caption, Runnable chart) {
            m.open("figure").element("figcaption", caption);
            chart.run();
            m.close("figure").newline();
        }

        private static String uniqueId(String id, List<String> taken) {
            String unique = id;
            for (int i = 2; taken.contains(unique); i++) {
                unique = id + "-" + i;
            }
            taken.add(unique);
            return unique;
        }
    }
}
