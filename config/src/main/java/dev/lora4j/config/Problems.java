package dev.lora4j.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects errors and warnings while a file is read or checked, so that a user sees all of them at once instead of
 * fixing one per run.
 */
public final class Problems {
    private final List<ConfigError> errors = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    public void error(String path, String message) {
        errors.add(new ConfigError(path, message));
    }

    public void add(ConfigError error) {
        errors.add(error);
    }

    public void warn(String message) {
        warnings.add(message);
    }

    public void addAll(Validation v) {
        errors.addAll(v.errors());
        warnings.addAll(v.warnings());
    }

    public boolean hasErrors() {
        return !errors.isEmpty();
    }

    public int errorCount() {
        return errors.size();
    }

    public List<ConfigError> errors() {
        return List.copyOf(errors);
    }

    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    public Validation toValidation() {
        return new Validation(errors, warnings);
    }

    /** Throws when any error was collected; otherwise returns the warnings. */
    public List<String> throwIfErrors(Path file) {
        if (hasErrors()) {
            throw new ConfigException(file, errors);
        }
        return warnings();
    }

    /** {@code a.b} from {@code a} and {@code b}; a blank prefix yields {@code b}. */
    public static String join(String prefix, String key) {
        return prefix == null || prefix.isEmpty() ? key : prefix + "." + key;
    }
}
