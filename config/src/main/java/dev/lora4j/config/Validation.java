package dev.lora4j.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The outcome of validating something: every error (not only the first) and every warning. */
public record Validation(List<ConfigError> errors, List<String> warnings) {
    public Validation {
        errors = List.copyOf(errors);
        warnings = List.copyOf(warnings);
    }

    public static Validation ok() {
        return new Validation(List.of(), List.of());
    }

    public boolean isValid() {
        return errors.isEmpty();
    }

    /** Both results together, errors first of this then of {@code other}. */
    public Validation and(Validation other) {
        List<ConfigError> e = new ArrayList<>(errors);
        e.addAll(other.errors);
        List<String> w = new ArrayList<>(warnings);
        w.addAll(other.warnings);
        return new Validation(e, w);
    }

    /** Throws a {@link ConfigException} naming {@code file} (may be null) when there is any error. */
    public Validation orThrow(Path file) {
        if (!errors.isEmpty()) {
            throw new ConfigException(file, errors);
        }
        return this;
    }
}
