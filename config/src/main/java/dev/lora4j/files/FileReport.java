package dev.lora4j.files;

import dev.lora4j.config.ConfigError;
import java.util.List;
import java.util.Objects;

/**
 * The result of checking one file: what it is, whether it is valid, a one-line summary when it is, and every error
 * and warning.
 *
 * @param path the path as the user gave it
 */
public record FileReport(String path, FileKind kind, String summary, List<ConfigError> errors, List<String> warnings) {
    public FileReport {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(summary, "summary");
        errors = List.copyOf(errors);
        warnings = List.copyOf(warnings);
    }

    public boolean valid() {
        return errors.isEmpty();
    }
}
