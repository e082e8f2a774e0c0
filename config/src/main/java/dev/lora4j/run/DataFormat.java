package dev.lora4j.run;

import dev.lora4j.config.Choices;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** How a data file is laid out: one JSON object per line, or CSV with a header row. */
public enum DataFormat {
    JSONL("jsonl"),
    CSV("csv");

    private final String json;

    DataFormat(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Optional<DataFormat> parse(String s) {
        return Choices.parse(values(), DataFormat::json, s);
    }

    /** From the extension: {@code .jsonl}/{@code .ndjson} or {@code .csv}. */
    public static Optional<DataFormat> ofFile(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return Optional.of(JSONL);
        }
        return name.endsWith(".csv") ? Optional.of(CSV) : Optional.empty();
    }
}
