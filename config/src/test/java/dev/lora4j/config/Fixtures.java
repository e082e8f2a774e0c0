package dev.lora4j.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The repository's fixtures folder (surefire sets {@code lora4j.fixtures}) and the PEFT config files in it. */
public final class Fixtures {
    private Fixtures() {}

    public static Path dir() {
        String p = System.getProperty("lora4j.fixtures");
        Path dir = p != null ? Path.of(p) : Path.of("../fixtures");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("fixtures folder not found: " + dir.toAbsolutePath());
        }
        return dir.toAbsolutePath().normalize();
    }

    /** Every adapter_config.json and every *.json under fixtures/ (the real PEFT files). */
    public static List<Path> peftConfigs() {
        try (Stream<Path> s = Files.walk(dir())) {
            return s.filter(f -> f.getFileName().toString().endsWith(".json"))
                    .filter(f -> !f.getFileName().toString().equals("config.json"))
                    .filter(f -> !f.getFileName().toString().equals("expected.json"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
