package dev.lora4j.report;

import java.util.ArrayList;
import java.util.List;

/** Values against the training step, one curve per trial in the trial's colour. */
final class LineChart {
    /** Above this many points a curve keeps each stretch's lowest and highest value, so spikes stay visible. */
    static final int MAX_POINTS = 1500;
    /**
     * Curves this short also get a dot per point where few trials share the chart; a single point always does, as
     * it would not show at all otherwise.
     */
    static final int MARKED_POINTS = 20;
    static final int MARKED_SERIES = 12;

    record Series(String trialId, String name, String color, List<TrialCurves.Point> points) {}

    private LineChart() {}

    static void render(Markup m, String id, String title, String yLabel, List<Series> all) {
        List<Series> series = all.stream().filter(s -> s.points().stream().anyMatch(LineChart::finite)).toList();
        Frame f = Frame.standard(600, 330);
        f.open(m, id, title);
        if (series.isEmpty()) {
            f.empty(m, "no " + yLabel + " values recorded");
            m.close("svg");
            return;
        }
        List<Double> steps = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (Series s : series) {
            for (TrialCurves.Point p : s.points()) {
                if (finite(p)) {
                    steps.add(p.step());
                    values.add(p.value());
                }
            }
        }
        Scale x = Scale.steps(steps);
        Scale y = Scale.numbers(values, false);
        f.axes(m, x, y, "step", yLabel);
        m.open("g", "class", "curves");
        for (Series s : series) {
            List<TrialCurves.Point> points = decimate(s.points());
            StringBuilder d = new StringBuilder();
            boolean pen = false;
            int drawn = 0;
            for (TrialCurves.Point p : points) {
                if (!finite(p)) {
                    pen = false;
                    continue;
                }
                d.append(pen ? " L" : (d.length() == 0 ? "M" : " M")).append(Frame.px(f.x(x.at(p.step()))))
                        .append(',').append(Frame.px(f.y(y.at(p.value()))));
                pen = true;
                drawn++;
            }
            m.open("path", "class", "curve", "data-trial", s.trialId(), "data-points", Integer.toString(drawn),
                    "d", d.toString(), "stroke", s.color());
            m.element("title", s.name());
            m.close("path");
            if (drawn == 1 || drawn <= MARKED_POINTS && series.size() <= MARKED_SERIES) {
                for (TrialCurves.Point p : points) {
                    if (finite(p)) {
                        m.open("circle", "class", "marker", "data-trial", s.trialId(), "cx",
                                Frame.px(f.x(x.at(p.step()))), "cy", Frame.px(f.y(y.at(p.value()))), "r",
                                drawn == 1 ? "4.5" : "3",
                                "fill", s.color());
                        m.element("title", s.name() + ": " + Figures.value(p.value()) + " at step "
                                + Figures.value(p.step()));
                        m.close("circle");
                    }
                }
            }
        }
        m.close("g");
        m.close("svg");
    }

    private static boolean finite(TrialCurves.Point p) {
        return Double.isFinite(p.step()) && Double.isFinite(p.value());
    }

    /** Long curves (thousands of steps, times a hundred trials) would make the page heavy for no visible gain. */
    static List<TrialCurves.Point> decimate(List<TrialCurves.Point> points) {
        if (points.size() <= MAX_POINTS) {
            return points;
        }
        int buckets = MAX_POINTS / 2;
        List<TrialCurves.Point> kept = new ArrayList<>();
        for (int b = 0; b < buckets; b++) {
            List<TrialCurves.Point> stretch = points.subList(b * points.size() / buckets,
                    (b + 1) * points.size() / buckets);
            TrialCurves.Point lo = null;
            TrialCurves.Point hi = null;
            for (TrialCurves.Point p : stretch) {
                if (!finite(p)) {
                    continue;
                }
                lo = lo == null || p.value() < lo.value() ? p : lo;
                hi = hi == null || p.value() > hi.value() ? p : hi;
            }
            if (lo == null) {
                // keep the gap a stretch of NaN losses means
                kept.add(stretch.get(0));
            } else if (lo == hi) {
                kept.add(lo);
            } else {
                kept.add(lo.step() < hi.step() ? lo : hi);
                kept.add(lo.step() < hi.step() ? hi : lo);
            }
        }
        return kept;
    }
}
