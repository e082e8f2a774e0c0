package dev.lora4j.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Choices;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The data of a run: a training file, an optional evaluation file, their format and the fields to read. Paths are
 * absolute, resolved against the file that named them.
 */
public final class DataSpec extends TreeValue {
    public static final List<String> KEYS = List.of("train", "eval", "format", "text_field", "label_field", "labels",
            "max_length");

    private final Path train;
    private final Path eval;
    private final DataFormat format;
    private final String textField;
    private final String labelField;
    private final List<String> labels;
    private final int maxLength;

    private DataSpec(Builder b) {
        train = Objects.requireNonNull(b.train, "train");
        eval = b.eval;
        format = b.format != null ? b.format : DataFormat.ofFile(train).orElse(DataFormat.JSONL);
        textField = b.textField;
        labelField = b.labelField;
        labels = List.copyOf(b.labels);
        maxLength = b.maxLength;
    }

    public static Builder builder(Path train) {
        return new Builder(train);
    }

    public Path train() {
        return train;
    }

    public Optional<Path> eval() {
        return Optional.ofNullable(eval);
    }

    public DataFormat format() {
        return format;
    }

    public String textField() {
        return textField;
    }

    public String labelField() {
        return labelField;
    }

    /** Class names of a SEQ_CLS task whose labels are strings; label i is {@code labels().get(i)}. */
    public List<String> labels() {
        return labels;
    }

    /** Longer rows are truncated to this many tokens. */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Reads a {@code data} mapping; paths are resolved against {@code baseDir}. Checks everything, files included;
     * empty only when there is no usable {@code train} value (other errors leave their field at its default).
     */
    public static Optional<DataSpec> fromSection(Section s, Path baseDir) {
        s.rejectUnknown(KEYS);
        Problems p = s.problems();
        Optional<Path> train = s.string("train").map(t -> baseDir.resolve(t).toAbsolutePath().normalize());
        if (!s.has("train")) {
            p.error(s.path("train"), "missing: the training data file (.jsonl or .csv), relative to this file");
        }
        Optional<Path> eval = s.stringOrNull("eval").map(t -> baseDir.resolve(t).toAbsolutePath().normalize());
        Optional<DataFormat> format = Choices.read(s, "format", DataFormat.values());
        train.ifPresent(f -> exists(s.path("train"), f, p));
        eval.ifPresent(f -> exists(s.path("eval"), f, p));
        if (format.isEmpty() && !s.has("format")) {
            train.ifPresent(f -> {
                Optional<DataFormat> inferred = DataFormat.ofFile(f);
                if (inferred.isEmpty()) {
                    p.error(s.path("format"), "cannot tell the format of " + f.getFileName() + " from its extension: "
                            + "set format to \"jsonl\" or \"csv\"");
                }
                eval.ifPresent(e -> DataFormat.ofFile(e).filter(ef -> inferred.isPresent() && ef != inferred.get())
                        .ifPresent(ef -> p.error(s.path("eval"), "is " + ef.json() + " but train is "
                                + inferred.get().json() + "; both files must have the same format")));
            });
        }
        Builder b = new Builder(train.orElse(null));
        b.eval(eval.orElse(null));
        format.ifPresent(b::format);
        s.string("text_field").ifPresent(b::textField);
        s.string("label_field").ifPresent(b::labelField);
        s.stringsOrNull("labels").ifPresent(b::labels);
        s.integer("max_length").ifPresent(b::maxLength);
        nonBlank(s, "text_field", b.textField);
        nonBlank(s, "label_field", b.labelField);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < b.labels.size(); i++) {
            String label = b.labels.get(i);
            if (label.isBlank() || !seen.add(label)) {
                p.error(s.path("labels") + "[" + i + "]", label.isBlank() ? "a label must not be blank"
                        : "duplicate label \"" + label + "\"; each class is listed once");
            }
        }
        if (b.maxLength < 1) {
            p.error(s.path("max_length"), "max_length must be >= 1, got " + b.maxLength);
        }
        return train.isEmpty() ? Optional.empty() : Optional.of(b.build());
    }

    private static void exists(String path, Path file, Problems p) {
        if (!Files.exists(file) && Files.isSymbolicLink(file)) {
            p.error(path, file + " is a symbolic link that leads to no file (a loop of links, or its target is"
                    + " missing)");
        } else if (!Files.exists(file)) {
            p.error(path, "no such file: " + file);
        } else if (!Files.isRegularFile(file)) {
            p.error(path, file + " is not a file");
        }
    }

    private static void nonBlank(Section s, String key, String v) {
        if (v.isBlank()) {
            s.problems().error(s.path(key), key + " must not be blank");
        }
    }

    /** The mapping {@link #fromSection} reads, with absolute paths. */
    @Override
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("train", train.toString());
        o.put("eval", eval == null ? null : eval.toString());
        o.put("format", format.json());
        o.put("text_field", textField);
        o.put("label_field", labelField);
        ArrayNode l = o.putArray("labels");
        labels.forEach(l::add);
        o.put("max_length", maxLength);
        return o;
    }

    public static final class Builder {
        private final Path train;
        private Path eval;
        private DataFormat format;
        private String textField = "text";
        private String labelField = "label";
        private List<String> labels = List.of();
        private int maxLength = 512;

        private Builder(Path train) {
            this.train = train;
        }

        public Builder eval(Path v) {
            eval = v;
            return this;
        }

        /** {@code null}: inferred from the training file's extension. */
        public Builder format(DataFormat v) {
            format = v;
            return this;
        }

        public Builder textField(String v) {
            textField = Objects.requireNonNull(v);
            return this;
        }

        public Builder labelField(String v) {
            labelField = Objects.requireNonNull(v);
            return this;
        }

        public Builder labels(List<String> v) {
            labels = List.copyOf(v);
            return this;
        }

        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        public DataSpec build() {
            return new DataSpec(this);
        }
    }
}
