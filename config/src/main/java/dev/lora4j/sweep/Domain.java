package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/** The values a sweep parameter takes. */
public sealed interface Domain {
    /** How many grid points this parameter contributes; 0 for a distribution a grid cannot enumerate. */
    long gridSize();

    /**
     * {@code values: [...]}: each one (grid) or one at random, uniformly or, with {@code probabilities}, with those
     * weights (W&B's {@code categorical_w_probabilities}; random sweeps only).
     *
     * @param probabilities one per value, summing to 1; empty: uniform
     */
    record Values(List<JsonNode> values, List<Double> probabilities) implements Domain {
        public Values {
            values = List.copyOf(values);
            probabilities = List.copyOf(probabilities);
        }

        public Values(List<JsonNode> values) {
            this(values, List.of());
        }

        @Override
        public long gridSize() {
            return values.size();
        }

        /** The value at quantile {@code u} in [0, 1): W&B's first index whose cumulative probability exceeds u. */
        int index(double u) {
            if (probabilities.isEmpty()) {
                return (int) Math.min(values.size() - 1, Math.floor(u * values.size()));
            }
            double cumulative = 0;
            for (int i = 0; i < probabilities.size(); i++) {
                cumulative += probabilities.get(i);
                if (u < cumulative) {
                    return i;
                }
            }
            return values.size() - 1; // probabilities that sum to 1 - 1e-12
        }
    }

    /** {@code value: x}: the same in every trial (recorded in each trial's assignment). */
    record Constant(JsonNode value) implements Domain {
        public Constant {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public long gridSize() {
            return 1;
        }
    }

    /** A value drawn from a {@link Distribution} by the quantile of a uniform draw. */
    sealed interface Drawn extends Domain {
        /** The distribution, as the file names it. */
        Distribution distribution();

        /** Whether every value is an integer: int_uniform, or a q_ distribution whose q is written as an integer. */
        boolean integral();

        /** The value at quantile {@code u} in [0, 1]. */
        double draw(double u);
    }

    /**
     * {@code min}, {@code max}, {@code distribution} (and {@code q}). A grid enumerates {@code int_uniform}
     * ({@code min..max}) and {@code q_uniform} ({@code min, min + q, ...} below max, numpy's arange), as W&B does.
     */
    record Range(Distribution distribution, double min, double max, double q, boolean integral) implements Drawn {
        public Range {
            Objects.requireNonNull(distribution, "distribution");
        }

        /** A range without {@code q}. */
        public Range(double min, double max, Distribution distribution) {
            this(distribution, min, max, 1.0, distribution == Distribution.INT_UNIFORM);
        }

        @Override
        public double draw(double u) {
            return distribution.draw(min, max, q, u);
        }

        @Override
        public long gridSize() {
            return switch (distribution) {
                case INT_UNIFORM -> (long) (max - min) + 1;
                case Q_UNIFORM -> (long) Math.ceil((max - min) / q);
                default -> 0;
            };
        }

        /** Grid point {@code i} of an int_uniform or q_uniform range. */
        double gridValue(long i) {
            return distribution == Distribution.INT_UNIFORM ? min + i : min + i * q;
        }
    }

    /** {@code mu}, {@code sigma}, {@code distribution} (and {@code q}): normal and log-normal, unbounded. */
    record Gaussian(Distribution distribution, double mu, double sigma, double q, boolean integral) implements Drawn {
        public Gaussian {
            Objects.requireNonNull(distribution, "distribution");
        }

        @Override
        public double draw(double u) {
            return distribution.draw(mu, sigma, q, u);
        }

        @Override
        public long gridSize() {
            return 0;
        }
    }

    /**
     * {@code ratio_to: r, values: [1, 2]}: this field is {@code factor × (the other field's value in the same trial)};
     * the factors form the grid dimension.
     *
     * @param ratioTo the other field as the file names it
     */
    record Tied(String ratioTo, FieldRef other, List<Double> factors) implements Domain {
        public Tied {
            factors = List.copyOf(factors);
        }

        @Override
        public long gridSize() {
            return factors.size();
        }
    }
}
