package dev.lora4j.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Every error found in a config, for callers that want an exception rather than a {@link Validation}. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final List<ConfigError> errors;

    public ConfigException(Path file, List<ConfigError> errors) {
        super(render(file, errors));
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one error");
        }
        this.file = file;
        this.errors = List.copyOf(errors);
    }

    public ConfigException(List<ConfigError> errors) {
        this(null, errors);
    }

    public static ConfigException ofFile(Path file, String message) {
        return new ConfigException(file, List.of(ConfigError.ofFile(message)));
    }

    public List<ConfigError> errors() {
        return errors;
    }

    /** The file the errors are about, when there is one. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** The same errors attributed to {@code other}, e.g. once a caller knows which file a tree came from. */
    public ConfigException withFile(Path other) {
        return new ConfigException(other, errors);
    }

    private static String render(Path file, List<ConfigError> errors) {
        String prefix = file == null ? "" : file + ": ";
        return errors.stream().map(e -> prefix + e).collect(Collectors.joining("\n"));
    }
}
