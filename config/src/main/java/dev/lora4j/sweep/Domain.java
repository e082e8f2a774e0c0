package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/** The values a sweep parameter takes. */
public sealed interface Domain {
    /** How many grid points this parameter contributes; a range has no grid points. */
    long gridSize();

    /** {@code values: [...]}: each one (grid) or one at random. */
    record Values(List<JsonNode> values) implements Domain {
        public Values {
            values = List.copyOf(values);
        }

        @Override
        public long gridSize() {
            return values.size();
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

    /** {@code min}, {@code max}, {@code distribution}: random sweeps only. */
    record Range(double min, double max, Distribution distribution) implements Domain {
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
