package dev.lora4j.data;

import java.nio.file.Path;
import java.util.Locale;

/** The file formats a data file can have. */
public enum Format {
    /** One JSON object per line. */
    JSONL,
    /** RFC 4180 CSV with a header row naming the columns. */
    CSV;

    /**
     * The format a file's extension names: {@code .jsonl} or {@code .ndjson}, or {@code .csv}. A plain {@code .json}
     * is not guessed: it is as often one JSON array as JSON lines.
     */
    public static Format ofExtension(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return JSONL;
        }
        if (name.endsWith(".csv")) {
            return CSV;
        }
        throw new DataException(file + ": cannot tell the format from the extension: name it .jsonl or .csv, or set"
                + " the format (jsonl, csv)");
    }
}
