package dev.lora4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The shared test fixtures (tiny Llama models with PEFT adapters and golden losses, real PEFT adapters). */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    public static Path root() {
        String p = System.getProperty("lora4j.fixtures");
        Path dir = p != null ? Path.of(p) : Path.of("../fixtures");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("fixtures folder not found: " + dir.toAbsolutePath());
        }
        return dir;
    }

    public static Path tinyLlama(String variant) {
        return root().resolve("tiny-llama-" + variant);
    }

    /** A model family's fixture ({@code fixtures/tiny-<family>}, written by {@code fixtures/reference/}). */
    public static Path tiny(String family) {
        return root().resolve("tiny-" + family);
    }

    /** A model family's fixture's expected.json. */
    public static JsonNode tinyExpected(String family) {
        try {
            return JSON.readTree(tiny(family).resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The {@code input_ids} rows of a fixture's data.jsonl. */
    public static List<long[]> rows(Path jsonl) {
        List<long[]> rows = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(jsonl)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode ids = JSON.readTree(line).get("input_ids");
                long[] r = new long[ids.size()];
                for (int i = 0; i < r.length; i++) {
                    r[i] = ids.get(i).asLong();
                }
                rows.add(r);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    public static JsonNode expected(String variant) {
        try {
            return JSON.readTree(tinyLlama(variant).resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
