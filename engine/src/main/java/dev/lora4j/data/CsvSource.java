package dev.lora4j.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads an RFC 4180 CSV file with a header row, record by record (a quoted field may span lines; each record is
 * numbered by the line it starts on). Blank lines are skipped.
 */
final class CsvSource {
    private static final CsvMapper CSV = CsvMapper.builder().enable(CsvParser.Feature.SKIP_EMPTY_LINES).build();
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");
    private static final Pattern SEPARATORS = Pattern.compile("[\\s,]+");

    private CsvSource() {}

    static void read(Path file, DataOptions options, Problems problems, Fields.Sink sink) throws IOException {
        try (Reader reader = withoutBom(Files.newBufferedReader(file, StandardCharsets.UTF_8));
             CsvParser p = CSV.getFactory().createParser(reader)) {
            p.setSchema(CsvSchema.emptySchema().withHeader());
            new Records(p, options, problems, sink).run();
        }
    }

    private static Reader withoutBom(Reader r) throws IOException {
        PushbackReader in = new PushbackReader(r, 1);
        int first = in.read();
        if (first != -1 && first != '\uFEFF') {
            in.unread(first);
        }
        return in;
    }

    /** The token loop over one file: a record starts where its first cell does. */
    private static final class Records {
        private final CsvParser p;
        private final DataOptions options;
        private final Problems problems;
        private final Fields.Sink sink;
        private List<String> columns;

        Records(CsvParser p, DataOptions options, Problems problems, Fields.Sink sink) {
            this.p = p;
            this.options = options;
            this.problems = problems;
            this.sink = sink;
        }

        void run() throws IOException {
            Map<String, String> cells = null;
            int line = -1;
            boolean bad = false;
            long lastErrorAt = -1;
            while (true) {
                JsonToken t;
                try {
                    t = p.nextToken();
                } catch (CharacterCodingException e) {
                    // the decoder cannot resynchronise: stop here, the rows read so far are reported with this
                    problems.add(p.currentLocation().getLineNr(), "not valid UTF-8 (at or before this line)");
                    return;
                } catch (JsonProcessingException e) {
                    JsonLocation at = e.getLocation();
                    long offset = at == null ? -1 : at.getCharOffset();
                    if (columns == null && headerColumns().isEmpty()) {
                        return; // an empty file: "no rows" is reported by the caller
                    }
                    if (offset == lastErrorAt) {
                        return; // the parser is stuck at one place; what it said there is already reported
                    }
                    lastErrorAt = offset;
                    problems.add(cells != null && line > 0 ? line : at == null ? 0 : at.getLineNr(),
                            "invalid CSV: " + e.getOriginalMessage());
                    bad = true;
                    continue;
                }
                if (t == null) {
                    break;
                }
                switch (t) {
                    case START_OBJECT -> {
                        header();
                        cells = new LinkedHashMap<>();
                        line = -1;
                        bad = false;
                    }
                    case FIELD_NAME -> {
                        if (line < 0) {
                            line = p.currentTokenLocation().getLineNr();
                        }
                    }
                    case VALUE_STRING -> {
                        if (cells != null) {
                            cells.put(p.currentName(), p.getText());
                        }
                    }
                    case END_OBJECT -> {
                        if (cells != null && !bad && line > 0) {
                            sink.accept(new CsvFields(line, cells, columns.size(), options.labels()));
                        }
                        cells = null;
                    }
                    default -> { }
                }
            }
            header();
        }

        private List<String> headerColumns() {
            return p.getSchema().getColumnNames();
        }

        private void header() {
            if (columns != null) {
                return;
            }
            columns = headerColumns();
            if (columns.isEmpty()) {
                return;
            }
            Set<String> seen = new HashSet<>();
            for (String c : columns) {
                if (!c.isEmpty() && !seen.add(c)) {
                    problems.add(1, "the header names column " + RowShape.quote(c) + " twice");
                }
            }
            sink.header(1, columns);
        }
    }

    private record CsvFields(int line, Map<String, String> cells, int columns, List<String> labels)
            implements Fields {
        @Override
        public Set<String> names() {
            Set<String> names = new LinkedHashSet<>();
            cells.forEach((k, v) -> {
                if (!v.isEmpty()) {
                    names.add(k);
                }
            });
            return names;
        }

        @Override
        public String absent(String name) {
            return cells.containsKey(name) ? RowShape.quote(name) + " is empty"
                    : "missing " + RowShape.quote(name) + " (the row has " + cells.size() + " of " + columns
                    + " columns)";
        }

        @Override
        public String string(String name) {
            return cells.get(name);
        }

        /** Ids in a cell as a JSON list {@code [1, 2, 3]} or separated by spaces or commas {@code 1 2 3}. */
        @Override
        public long[] longs(String name) throws BadRow {
            String cell = cells.get(name).strip();
            if (cell.startsWith("[")) {
                try {
                    return JsonlSource.integers(name, JsonlSource.JSON.readTree(cell));
                } catch (JsonProcessingException e) {
                    throw new BadRow(RowShape.quote(name) + " is not a valid JSON list: " + e.getOriginalMessage());
                }
            }
            String[] parts = SEPARATORS.split(cell);
            long[] out = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                if (!INTEGER.matcher(parts[i]).matches()) {
                    throw new BadRow(RowShape.quote(name) + " must be integers as [1, 2, 3] or 1 2 3, found \""
                            + parts[i] + "\"");
                }
                try {
                    out[i] = Long.parseLong(parts[i]);
                } catch (NumberFormatException e) {
                    throw new BadRow(RowShape.quote(name) + ": " + parts[i] + " is out of range");
                }
            }
            return out;
        }

        /**
         * Every CSV cell is text, so a cell that is not one of the listed label names but is a plain integer is taken
         * as a class id; anything else is a name.
         */
        @Override
        public LabelValue label(String name) {
            String cell = cells.get(name);
            if (!labels.contains(cell) && INTEGER.matcher(cell).matches() && cell.length() < 19) {
                return new LabelValue.Id(Long.parseLong(cell));
            }
            return new LabelValue.Name(cell);
        }
    }
}
