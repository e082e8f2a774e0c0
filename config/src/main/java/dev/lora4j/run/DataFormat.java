package dev.lora4j.run;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** How a data file is laid out: one JSON object per line ({@code jsonl}), or CSV with a header row ({@code csv}). */
public enum DataFormat implements Spelled {
    JSONL,
    CSV;

    public static Optional<DataFormat> parse(String s) {
        return Choices.parse(values(), s);
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
