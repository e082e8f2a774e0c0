package dev.lora4j.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A trial's per-step values from its progress.csv rows: the training loss ({@code loss}) and every evaluation
 * column ({@code eval_loss}, {@code eval_accuracy}, ...), each in step order.
 */
record TrialCurves(Map<String, List<Point>> columns) {
    static final String LOSS = "loss";
    static final TrialCurves NONE = new TrialCurves(Map.of());

    record Point(double step, double value) {}

    TrialCurves {
        columns = Map.copyOf(columns);
    }

    /**
     * Training rows hold no {@code eval_*} cell, evaluation rows nothing else worth plotting. A training row without
     * a loss (it was NaN) keeps its step as a gap in the curve. A step seen twice (a retried trial that restarted
     * without a checkpoint appends its steps again) keeps its last value.
     */
    static TrialCurves of(List<Map<String, Double>> rows) {
        Map<String, NavigableMap<Double, Double>> byColumn = new TreeMap<>();
        for (Map<String, Double> row : rows) {
            Double step = row.get("step");
            if (step == null) {
                continue;
            }
            boolean evaluation = false;
            for (Map.Entry<String, Double> cell : row.entrySet()) {
                if (cell.getKey().startsWith("eval_")) {
                    evaluation = true;
                    byColumn.computeIfAbsent(cell.getKey(), c -> new TreeMap<>()).put(step, cell.getValue());
                }
            }
            if (!evaluation) {
                byColumn.computeIfAbsent(LOSS, c -> new TreeMap<>()).put(step, row.getOrDefault(LOSS, Double.NaN));
            }
        }
        Map<String, List<Point>> columns = new TreeMap<>();
        byColumn.forEach((column, values) -> {
            List<Point> points = new ArrayList<>();
            values.forEach((s, v) -> points.add(new Point(s, v)));
            columns.put(column, List.copyOf(points));
        });
        return new TrialCurves(columns);
    }

    List<Point> column(String name) {
        return columns.getOrDefault(name, List.of());
    }
}
