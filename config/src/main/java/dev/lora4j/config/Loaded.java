package dev.lora4j.config;

import java.util.List;
import java.util.Objects;

/** A value read from a file plus the warnings reading it produced (unknown keys, ignored settings). */
public record Loaded<T>(T value, List<String> warnings) {
    public Loaded {
        Objects.requireNonNull(value, "value");
        warnings = List.copyOf(warnings);
    }
}
