package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where a value lies along an axis, as a fraction from 0 (start) to 1 (end), and the ticks to label it with. Numbers
 * get a linear axis, or a logarithmic one when positive values span ten times or more (learning rates); anything
 * else (scheduler names, module lists) gets one evenly spaced band per distinct value.
 */
sealed interface Scale permits Scale.Linear, Scale.Log, Scale.Band {

    /** The fraction along the axis, or NaN where the value has no place (missing, not a number on a numeric axis). */
    double at(JsonNode v);

    List<Tick> ticks();

    default double at(double v) {
        return at(DoubleNode.valueOf(v));
    }

    record Tick(double at, String label) {}

    /** The axis for a parameter's values across trials (missing values ignored). */
    static Scale of(Collection<JsonNode> values) {
        List<Double> numbers = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        boolean numeric = true;
        for (JsonNode v : values) {
            if (v == null || v.isNull() || v.isMissingNode()) {
                continue;
            }
            keys.add(Band.key(v));
            if (v.isNumber()) {
                numbers.add(v.asDouble());
            } else {
                numeric = false;
            }
        }
        if (!numeric) {
            return new Band(List.copyOf(keys));
        }
        return numbers(numbers, true);
    }

    /** A numeric axis over the finite values; {@code mayLog} allows a log axis when they span 10x or more. */
    static Scale numbers(Collection<Double> values, boolean mayLog) {
        double[] range = range(values);
        if (range == null) {
            return Linear.around(0, 1, 0, true);
        }
        if (mayLog && range[0] > 0 && range[1] / range[0] >= 10) {
            return Log.around(range[0], range[1]);
        }
        return Linear.around(range[0], range[1], 0, true);
    }

    /** A linear axis of training steps: whole numbers only, and curves run from frame to frame. */
    static Scale steps(Collection<Double> values) {
        double[] range = range(values);
        return range == null ? Linear.around(0, 1, 1, false) : Linear.around(range[0], range[1], 1, false);
    }

    /** The smallest and largest finite value, or null where there is none. */
    private static double[] range(Collection<Double> values) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            if (Double.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return min > max ? null : new double[] {min, max};
    }

    /** A linear axis from {@code lo} to {@code hi} at multiples of {@code step}. */
    record Linear(double lo, double hi, double step) implements Scale {
        /**
         * Round ends around {@code min..max}, with a little {@code room} so that no value sits on the frame (an
         * axis of positive values does not dip below zero for it). The step is at least {@code minStep}.
         */
        static Linear around(double min, double max, double minStep, boolean room) {
            if (min == max) {
                // one value: centre it with some room on both sides
                double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
                min -= pad;
                max += pad;
            } else if (room) {
                double pad = (max - min) * 0.04;
                min = min >= 0 ? Math.max(0, min - pad) : min - pad;
                max += pad;
            }
            double step = Math.max(minStep, nice((max - min) / 5));
            return new Linear(Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step, step);
        }

        /** The round step (1, 2 or 5 times a power of ten) nearest above {@code raw}. */
        private static double nice(double raw) {
            double power = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / power;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
        }

        @Override
        public double at(JsonNode v) {
            return v != null && v.isNumber() && Double.isFinite(v.asDouble()) ? (v.asDouble() - lo) / (hi - lo)
                    : Double.NaN;
        }

        @Override
        public List<Tick> ticks() {
            List<Tick> ticks = new ArrayList<>();
            long first = Math.round(lo / step);
            long last = Math.round(hi / step);
            for (long k = first; k <= last; k++) {
                double v = k * step;
                ticks.add(new Tick(at(v), Figures.tick(v, step)));
            }
            return ticks;
        }
    }

    /** A base-10 log axis from {@code 10^lo} to {@code 10^hi}. */
    record Log(double lo, double hi) implements Scale {
        static Log around(double min, double max) {
            double pad = (Math.log10(max) - Math.log10(min)) * 0.04;
            return new Log(Math.log10(min) - pad, Math.log10(max) + pad);
        }

        @Override
        public double at(JsonNode v) {
            if (v == null || !v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                return Double.NaN;
            }
            return (Math.log10(v.asDouble()) - lo) / (hi - lo);
        }

        /** Powers of ten, and 2 and 5 times them where few decades leave room; one notation for all labels. */
        @Override
        public List<Tick> ticks() {
            int[] multiples = hi - lo <= 2.5 ? new int[] {1, 2, 5} : new int[] {1};
            boolean scientific = lo < -3 || hi > 6;
            List<Tick> ticks = new ArrayList<>();
            for (int d = (int) Math.floor(lo); d <= (int) Math.ceil(hi); d++) {
                for (int m : multiples) {
                    double v = m * Math.pow(10, d);
                    double at = at(v);
                    if (at >= -1e-9 && at <= 1 + 1e-9) {
                        ticks.add(new Tick(at, scientific ? m + "e" + d : Figures.value(v)));
                    }
                }
            }
            return ticks;
        }
    }

    /** One band per distinct value, in the order the trials first show them. */
    record Band(List<String> keys) implements Scale {
        static String key(JsonNode v) {
            return Figures.parameter(v);
        }

        @Override
        public double at(JsonNode v) {
            int i = v == null || v.isNull() || v.isMissingNode() ? -1 : keys.indexOf(key(v));
            return i < 0 ? Double.NaN : (i + 0.5) / keys.size();
        }

        @Override
        public List<Tick> ticks() {
            List<Tick> ticks = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                ticks.add(new Tick((i + 0.5) / keys.size(), keys.get(i)));
            }
            return ticks;
        }
    }
}
