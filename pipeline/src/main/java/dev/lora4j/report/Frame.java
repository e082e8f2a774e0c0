package dev.lora4j.report;

import java.util.List;
import java.util.stream.IntStream;

/**
 * An SVG chart's coordinate system: a fixed viewBox (the page scales it to its width), margins for the axes, and the
 * pixel of a fraction along either axis.
 */
record Frame(int width, int height, int left, int right, int top, int bottom) {
    /** Tick labels longer than this (module lists, long scheduler names) are cut; the tooltips have them whole. */
    static final int LABEL_CHARS = 16;

    static Frame standard(int width, int height) {
        return new Frame(width, height, 64, 16, 16, 46);
    }

    double x(double fraction) {
        return left + fraction * (width - left - right);
    }

    double y(double fraction) {
        return height - bottom - fraction * (height - top - bottom);
    }

    /**
     * Opens the chart's {@code <svg>}; its {@code <title>} names it for screen readers and tooltips. It scales with
     * the page's width, but not far beyond its own size: text would grow larger than the page's.
     */
    void open(Markup m, String id, String title) {
        m.open("svg", "class", "chart", "id", id, "viewBox", "0 0 " + width + " " + height, "role", "img",
                "aria-label", title, "preserveAspectRatio", "xMidYMid meet", "style", "max-width:"
                        + Math.round(width * 1.2) + "px");
        m.element("title", title);
    }

    /** A centred note where a chart has nothing to draw. */
    void empty(Markup m, String note) {
        m.element("text", note, "class", "empty", "x", px(width / 2.0), "y", px(height / 2.0), "text-anchor",
                "middle");
    }

    /** Grid lines, ticks and labels on both axes. */
    void axes(Markup m, Scale x, Scale y, String xLabel, String yLabel) {
        m.open("g", "class", "axes");
        double bottomY = y(0);
        List<Scale.Tick> xTicks = thin(x.ticks());
        for (Scale.Tick t : xTicks) {
            String px = px(x(t.at()));
            m.empty("line", "class", "grid", "x1", px, "x2", px, "y1", px(y(1)), "y2", px(bottomY));
            m.element("text", shorten(t.label()), "class", "tick", "x", px, "y", px(bottomY + 16),
                    "text-anchor", "middle");
        }
        for (Scale.Tick t : thin(y.ticks())) {
            String py = px(y(t.at()));
            m.empty("line", "class", "grid", "x1", px(x(0)), "x2", px(x(1)), "y1", py, "y2", py);
            m.element("text", shorten(t.label()), "class", "tick", "x", px(x(0) - 6), "y", py, "text-anchor", "end",
                    "dominant-baseline", "middle");
        }
        m.empty("rect", "class", "plot", "x", px(x(0)), "y", px(y(1)), "width", px(x(1) - x(0)), "height",
                px(bottomY - y(1)));
        m.element("text", xLabel, "class", "label", "x", px((x(0) + x(1)) / 2), "y", px(height - 8),
                "text-anchor", "middle");
        m.element("text", yLabel, "class", "label", "transform", "translate(14 " + px((y(0) + y(1)) / 2)
                + ") rotate(-90)", "text-anchor", "middle");
        m.close("g");
    }

    /** At most a dozen labels: with many categories every other (third, ...) one is labelled. */
    static List<Scale.Tick> thin(List<Scale.Tick> ticks) {
        int every = (ticks.size() + 11) / 12;
        if (every <= 1) {
            return ticks;
        }
        return IntStream.range(0, ticks.size()).filter(i -> i % every == 0).mapToObj(ticks::get)
                .toList();
    }

    static String shorten(String label) {
        return shorten(label, LABEL_CHARS);
    }

    static String shorten(String label, int chars) {
        return label.length() <= chars ? label : label.substring(0, chars - 1) + "…";
    }

    /** One decimal: finer than a screen pixel. Hand-rolled as charts hold many thousands of coordinates. */
    static String px(double v) {
        long tenths = Math.round(v * 10);
        long whole = Math.abs(tenths) / 10;
        return (tenths < 0 ? "-" : "") + whole + "." + Math.abs(tenths) % 10;
    }
}
