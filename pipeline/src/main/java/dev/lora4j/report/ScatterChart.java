package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** The sweep's metric against one parameter: a dot per trial that has both. */
final class ScatterChart {
    record Dot(String trialId, String name, String color, JsonNode x, double y) {}

    private ScatterChart() {}

    /** {@code x} is the parameter's axis over every trial, so that charts of the same sweep line up. */
    static void render(Markup m, String id, String title, String xLabel, Scale x, String yLabel, List<Dot> all) {
        List<Dot> dots = all.stream().filter(d -> Double.isFinite(d.y()) && Double.isFinite(x.at(d.x()))).toList();
        Frame f = Frame.standard(420, 290);
        f.open(m, id, title);
        if (dots.isEmpty()) {
            f.empty(m, "no trial has a " + yLabel);
            m.close("svg");
            return;
        }
        Scale y = Scale.numbers(dots.stream().map(Dot::y).toList(), true);
        f.axes(m, x, y, xLabel + (x instanceof Scale.Log ? " (log)" : ""), yLabel
                + (y instanceof Scale.Log ? " (log)" : ""));
        m.open("g", "class", "points");
        for (Dot d : dots) {
            m.open("circle", "class", "point", "data-trial", d.trialId(), "cx", Frame.px(f.x(x.at(d.x()))), "cy",
                    Frame.px(f.y(y.at(d.y()))), "r", "5", "fill", d.color());
            m.element("title", d.name() + ": " + xLabel + " " + Figures.parameter(d.x()) + ", " + yLabel + " "
                    + Figures.value(d.y()));
            m.close("circle");
        }
        m.close("g");
        m.close("svg");
    }
}
