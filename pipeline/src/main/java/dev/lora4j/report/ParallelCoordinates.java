package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import java.util.List;

/**
 * Every swept parameter and the metric as vertical axes, one line per trial through its values, coloured from worst
 * (amber) to best (deep blue) metric. The metric axis is drawn with the best value on top whatever the goal.
 */
final class ParallelCoordinates {
    record Axis(String label, Scale scale, boolean flipped) {}

    /** A trial's line: its value on each axis (null where it has none) and its metric's rank from 0 to 1. */
    record Line(String trialId, String name, List<JsonNode> values, double goodness) {}

    private ParallelCoordinates() {}

    static void render(Markup m, String id, String title, List<Axis> axes, List<Line> lines) {
        int width = Math.max(1000, 150 * axes.size());
        Frame f = new Frame(width, 380, 80, 80, 44, 24);
        f.open(m, id, title);
        if (lines.isEmpty()) {
            f.empty(m, "no trials");
            m.close("svg");
            return;
        }
        m.open("g", "class", "lines");
        for (Line line : lines) {
            StringBuilder d = new StringBuilder();
            boolean pen = false;
            for (int i = 0; i < axes.size(); i++) {
                double at = position(axes.get(i), line.values().get(i));
                if (Double.isNaN(at)) {
                    pen = false;
                    continue;
                }
                d.append(pen ? " L" : (d.length() == 0 ? "M" : " M")).append(Frame.px(axisX(f, i, axes.size())))
                        .append(',').append(Frame.px(f.y(at)));
                pen = true;
            }
            if (d.length() == 0) {
                continue;
            }
            boolean ranked = Double.isFinite(line.goodness());
            m.open("path", "class", ranked ? "line" : "line no-metric", "data-trial", line.trialId(), "d",
                    d.toString(), "stroke", ranked ? Palette.ramp(line.goodness()) : "#9aa3ad");
            StringBuilder tip = new StringBuilder(line.name());
            for (int i = 0; i < axes.size(); i++) {
                tip.append(i == 0 ? ": " : ", ").append(axes.get(i).label()).append(' ')
                        .append(Figures.parameter(line.values().get(i)));
            }
            m.element("title", tip.toString());
            m.close("path");
        }
        m.close("g");
        m.open("g", "class", "axes");
        for (int i = 0; i < axes.size(); i++) {
            Axis a = axes.get(i);
            String x = Frame.px(axisX(f, i, axes.size()));
            m.empty("line", "class", "axis", "x1", x, "x2", x, "y1", Frame.px(f.y(1)), "y2", Frame.px(f.y(0)));
            for (Scale.Tick t : Frame.thin(a.scale().ticks())) {
                double at = a.flipped() ? 1 - t.at() : t.at();
                m.element("text", Frame.shorten(t.label()), "class", "tick", "x", Frame.px(axisX(f, i, axes.size())
                        - 6), "y", Frame.px(f.y(at)), "text-anchor", "end", "dominant-baseline", "middle");
            }
            m.element("text", Frame.shorten(a.label(), 24), "class", "label", "x", x, "y", Frame.px(f.y(1) - 16),
                    "text-anchor", "middle");
        }
        m.close("g");
        m.close("svg");
    }

    private static double position(Axis axis, JsonNode v) {
        if (v == null) {
            return Double.NaN;
        }
        double at = axis.scale().at(v);
        return axis.flipped() ? 1 - at : at;
    }

    private static double axisX(Frame f, int i, int n) {
        return n == 1 ? f.x(0.5) : f.x((double) i / (n - 1));
    }

    static JsonNode number(double v) {
        return Double.isFinite(v) ? DoubleNode.valueOf(v) : null;
    }
}
