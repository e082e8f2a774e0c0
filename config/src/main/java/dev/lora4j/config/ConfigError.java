package dev.lora4j.config;

import java.util.Objects;

/**
 * One problem in a config: the dotted path of the field ({@code lora.r}, {@code parameters.lora_alpha.values[2]}), or
 * {@code ""} for the file as a whole, and a message that says what is allowed.
 */
public record ConfigError(String path, String message) {
    public ConfigError {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(message, "message");
    }

    /** An error about the whole file rather than one field. */
    public static ConfigError ofFile(String message) {
        return new ConfigError("", message);
    }

    /** {@code path: message}, or just the message for a file-level error. */
    @Override
    public String toString() {
        return path.isEmpty() ? message : path + ": " + message;
    }
}
