package dev.lora4j.data;

import dev.lora4j.data.Fields.BadRow;
import dev.lora4j.data.Fields.LabelValue;
import dev.lora4j.model.Losses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The rows of one data file, checked: every row is of one {@link RowShape}, and class labels are ids into
 * {@code labelNames}.
 *
 * <p>A file with any bad row (invalid JSON or CSV, a missing or empty field, a value of the wrong type, an unknown
 * label name, an id out of range, rows of different shapes) is rejected as a whole, with every bad row's line in the
 * message, so that training never silently runs on part of the data. Blank lines are skipped; a file with no rows is
 * an error.
 */
public record DataFile(Path path, RowShape shape, List<Row> rows, List<String> labelNames) {
    /** Ids written without a list of names must stay below this, so a typo cannot ask for a billion classes. */
    static final int MAX_CLASSES = 65_536;

    public DataFile {
        rows = List.copyOf(rows);
        labelNames = List.copyOf(labelNames);
    }

    /** Why {@code file} is not a data file: missing, a folder, or a symbolic link that leads nowhere. */
    public static DataException notAFile(Path file) {
        if (Files.isDirectory(file)) {
            return new DataException(file + ": is a directory, expected a JSONL or CSV data file");
        }
        if (Files.isSymbolicLink(file)) {
            return new DataException(file + ": a symbolic link that leads to no file (a loop of links, or its"
                    + " target is missing)");
        }
        return new DataException(file + ": no such file");
    }

    public static DataFile read(Path file, DataOptions options) {
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw notAFile(file);
        }
        int classes = options.numClasses();
        if (classes > 0 && options.labels().size() > classes) {
            throw new DataException(name + ": the labels " + options.labels() + from(options) + " are "
                    + options.labels().size() + " classes but the model's classifier has " + classes
                    + " (num_labels in its config.json)");
        }
        Problems problems = new Problems(name);
        Collector rows = new Collector(options, problems);
        try {
            switch (options.formatOf(file)) {
                case JSONL -> JsonlSource.read(file, problems, rows);
                case CSV -> CsvSource.read(file, options, problems, rows);
            }
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e.getMessage(), e);
        }
        List<String> labelNames = rows.resolveLabels();
        problems.throwIfAny();
        if (classes > 0 && labelNames.size() > classes) {
            throw new DataException(name + ": the file's labels " + labelNames + " are " + labelNames.size()
                    + " classes but the model's classifier has " + classes + " (num_labels in its config.json)");
        }
        if (rows.rows.isEmpty()) {
            throw new DataException(name + ": no rows (blank lines are skipped); expected rows of "
                    + RowShape.allowed(options));
        }
        return new DataFile(file, rows.shape, rows.rows, labelNames);
    }

    /** Turns records into rows as they arrive; labels wait for the end, when every name in the file is known. */
    private static final class Collector implements Fields.Sink {
        private record Pending(int index, int line, LabelValue value) {}

        private final DataOptions options;
        private final Problems problems;
        private final List<Row> rows = new ArrayList<>();
        private final List<String> texts = new ArrayList<>();
        private final List<Pending> labels = new ArrayList<>();
        private RowShape shape;
        private int shapeLine;
        private boolean fixedByHeader;

        Collector(DataOptions options, Problems problems) {
            this.options = options;
            this.problems = problems;
        }

        @Override
        public void header(int line, List<String> columns) {
            Optional<RowShape> s = RowShape.detect(new HashSet<>(columns), options);
            if (s.isEmpty()) {
                problems.add(line, "the header has none of the columns " + RowShape.allowed(options) + "; it has "
                        + columns);
                fixedByHeader = true; // no record can be read without a shape: report the header once, not per row
                return;
            }
            shape = s.get();
            shapeLine = line;
            fixedByHeader = true;
        }

        @Override
        public void accept(Fields f) {
            RowShape s;
            if (fixedByHeader) {
                if (shape == null) {
                    return;
                }
                s = shape;
            } else {
                Optional<RowShape> detected = RowShape.detect(f.names(), options);
                if (detected.isEmpty()) {
                    problems.add(f.line(), "expected " + RowShape.allowed(options) + "; found "
                            + f.names().stream().map(RowShape::quote).toList());
                    return;
                }
                s = detected.get();
                if (shape == null) {
                    shape = s;
                    shapeLine = f.line();
                } else if (s != shape) {
                    problems.add(f.line(), "this row has " + s.fields(options) + " but the rows before have "
                            + shape.fields(options) + " (line " + shapeLine + "); one file holds one kind of row");
                    return;
                }
            }
            try {
                parse(s, f);
            } catch (BadRow e) {
                problems.add(f.line(), e.getMessage());
            }
        }

        private void parse(RowShape s, Fields f) throws BadRow {
            switch (s) {
                case TEXT -> rows.add(new Row.Text(f.line(), text(f, options.textField())));
                case PROMPT_COMPLETION -> rows.add(new Row.PromptCompletion(f.line(), text(f, RowShape.PROMPT),
                        text(f, RowShape.COMPLETION)));
                case TOKENS -> rows.add(tokens(f, options.vocabSize()));
                case LABELED_TEXT -> {
                    String text = text(f, options.textField());
                    LabelValue label = f.label(present(f, options.labelField()));
                    labels.add(new Pending(texts.size(), f.line(), label));
                    texts.add(text);
                }
            }
        }

        private static String present(Fields f, String name) throws BadRow {
            if (!f.names().contains(name)) {
                throw new BadRow(f.absent(name));
            }
            return name;
        }

        private static String text(Fields f, String name) throws BadRow {
            String s = f.string(present(f, name));
            if (s.isBlank()) {
                throw new BadRow(RowShape.quote(name) + " is empty");
            }
            return s;
        }

        /**
         * A pre-tokenised row. Its ids index the model's embedding, so with a {@code vocabSize} an id outside
         * {@code [0, vocab_size)} is this row's error here, before any tensor sees it: libtorch would fail the
         * lookup ({@code index out of range in self}), on a GPU with a device-side assert that breaks the CUDA
         * context of every trial sharing the device.
         */
        private static Row.Tokens tokens(Fields f, int vocabSize) throws BadRow {
            long[] ids = f.longs(RowShape.INPUT_IDS);
            if (ids.length == 0) {
                throw new BadRow(RowShape.quote(RowShape.INPUT_IDS) + " is empty");
            }
            for (long id : ids) {
                if (id < 0 || vocabSize > 0 && id >= vocabSize) {
                    throw new BadRow(RowShape.quote(RowShape.INPUT_IDS) + " has " + id + ": token ids are "
                            + allowedIds(vocabSize));
                }
            }
            if (!f.names().contains(RowShape.LABELS)) {
                return new Row.Tokens(f.line(), ids, null);
            }
            long[] labels = f.longs(RowShape.LABELS);
            if (labels.length != ids.length) {
                throw new BadRow(RowShape.quote(RowShape.LABELS) + " has " + labels.length + " entries but "
                        + RowShape.quote(RowShape.INPUT_IDS) + " has " + ids.length + "; they must match");
            }
            for (long l : labels) {
                if (l != Losses.IGNORE && (l < 0 || vocabSize > 0 && l >= vocabSize)) {
                    throw new BadRow(RowShape.quote(RowShape.LABELS) + " has " + l + ": labels are token ids ("
                            + allowedIds(vocabSize) + ") or -100 (ignored)");
                }
            }
            return new Row.Tokens(f.line(), ids, labels);
        }

        private static String allowedIds(int vocabSize) {
            return vocabSize > 0 ? "0 to " + (vocabSize - 1) + " (the model's vocab_size is " + vocabSize + ")"
                    : "0 or more";
        }

        /**
         * Maps every label to an id and adds the labelled rows. With a list of names, a name is its index and an id
         * must index the list. Without one, a file's labels are either all ids (names "0", "1", ...) or all names
         * (ids in sorted order, as {@code datasets}' {@code class_encode_column}, so that row order never changes
         * the mapping).
         */
        List<String> resolveLabels() {
            if (labels.isEmpty()) {
                return options.labels();
            }
            List<String> names = options.labels();
            if (names.isEmpty()) {
                names = inferNames();
                if (names == null) {
                    return List.of();
                }
            }
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                index.put(names.get(i), i);
            }
            for (Pending p : labels) {
                int id;
                if (p.value() instanceof LabelValue.Name n) {
                    Integer i = index.get(n.name());
                    if (i == null) {
                        problems.add(p.line(), "label \"" + n.name() + "\" is not one of " + names + from(options));
                        continue;
                    }
                    id = i;
                } else {
                    long raw = ((LabelValue.Id) p.value()).id();
                    if (raw < 0 || raw >= names.size()) {
                        problems.add(p.line(), "label " + raw + " is out of range: class ids are 0.."
                                + (names.size() - 1) + " for " + names + from(options));
                        continue;
                    }
                    id = (int) raw;
                }
                rows.add(new Row.Labeled(p.line(), texts.get(p.index()), id));
            }
            return names;
        }

        /** The names when none were given, or null after reporting labels that cannot be mapped. */
        private List<String> inferNames() {
            Pending first = labels.get(0);
            boolean byName = first.value() instanceof LabelValue.Name;
            TreeSet<String> unique = new TreeSet<>(DataFile::byCodePoint);
            long maxId = -1;
            boolean ok = true;
            for (Pending p : labels) {
                if (p.value() instanceof LabelValue.Name n && byName) {
                    unique.add(n.name());
                } else if (p.value() instanceof LabelValue.Id i && !byName) {
                    int classes = options.numClasses();
                    if (classes > 0 && (i.id() < 0 || i.id() >= classes)) {
                        problems.add(p.line(), "label " + i.id() + " is out of range: the model's classifier has "
                                + classes + " classes, ids 0 to " + (classes - 1));
                        ok = false;
                    } else if (i.id() < 0 || i.id() >= MAX_CLASSES) {
                        problems.add(p.line(), "label " + i.id() + " is out of range: class ids are 0 to "
                                + (MAX_CLASSES - 1));
                        ok = false;
                    }
                    maxId = Math.max(maxId, i.id());
                } else {
                    problems.add(p.line(), "label " + show(p.value()) + " is a " + (byName ? "class id" : "name")
                            + " but the labels before are " + (byName ? "names" : "class ids") + " (line "
                            + first.line() + "); give the list of label names to mix names and ids");
                    ok = false;
                }
            }
            if (!ok) {
                return null;
            }
            if (byName) {
                return List.copyOf(unique);
            }
            return IntStream.rangeClosed(0, (int) maxId).mapToObj(Integer::toString).collect(Collectors.toList());
        }

        private static String show(LabelValue v) {
            return v instanceof LabelValue.Name n ? "\"" + n.name() + "\"" : Long.toString(((LabelValue.Id) v).id());
        }
    }

    /** Where the label names come from, for messages: {@code " (the adapter's labels, ...)"}, or nothing. */
    private static String from(DataOptions options) {
        return options.labelsFrom() == null ? "" : " (" + options.labelsFrom() + ")";
    }

    /** Unicode code point order, as Python's {@code sorted} orders strings (String.compareTo uses UTF-16 units). */
    static int byCodePoint(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }
}
