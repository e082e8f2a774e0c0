package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Sweep files on the tiny Llama fixture, written into a test's folder with {@code rest} appended. */
final class TinySweeps {
    private TinySweeps() {}

    static Path write(Path dir, String rest) throws IOException {
        Path f = dir.resolve("sweep.yaml");
        Files.writeString(f, "name: s\nmodel: " + Fixtures.dir().resolve("tiny-llama-s2/model") + "\ndata:\n  train: "
                + Fixtures.dir().resolve("tiny-llama-s2/data.jsonl") + "\n  eval: "
                + Fixtures.dir().resolve("tiny-llama-s2/data.jsonl") + "\n" + rest);
        return f;
    }

    static SweepSpec read(Path dir, String rest) throws IOException {
        return SweepSpec.read(write(dir, rest)).value();
    }

    /** The errors reading the sweep throws, as {@code path: message}. */
    static List<String> errors(Path dir, String rest) throws IOException {
        Path f = write(dir, rest);
        ConfigException e = assertThrows(ConfigException.class, () -> SweepSpec.read(f));
        return e.errors().stream().map(ConfigError::toString).toList();
    }
}
