package dev.lora4j.data;

import dev.lora4j.config.TaskType;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * How to read one data file and turn it into training examples.
 *
 * @param format    the file's format, or null to take it from the extension ({@link Format#ofExtension})
 * @param textField the field (JSONL key, CSV column) holding a row's text
 * @param labelField the field holding a classification row's label (SEQ_CLS only)
 * @param labels    the class names in id order: a label written as a name is its index here. Empty (or null): names
 *                  get ids in sorted order (as {@code datasets}' {@code class_encode_column}); pass the training
 *                  file's {@link TokenizedDataset#labelNames()} when reading its evaluation file so both agree
 * @param maxLength the most tokens a row keeps (longer rows are truncated)
 * @param task      SEQ_CLS (text + label rows) or CAUSAL_LM (text, prompt/completion or pre-tokenised rows)
 * @param vocabSize the model's {@code vocab_size}: token ids (pre-tokenised {@code input_ids} and {@code labels},
 *                  and what the tokenizer gives) must be below it; 0 when not checked
 * @param numClasses the model's classes ({@code num_labels}): class ids must be below it; 0 when not checked
 * @param labelsFrom where {@code labels} come from, for messages (a file, {@code data.labels}); null when not said
 */
public record DataOptions(Format format, String textField, String labelField, List<String> labels, int maxLength,
                          TaskType task, int vocabSize, int numClasses, String labelsFrom) {

    public static final String DEFAULT_TEXT_FIELD = "text";
    public static final String DEFAULT_LABEL_FIELD = "label";
    public static final int DEFAULT_MAX_LENGTH = 512;

    public DataOptions {
        Objects.requireNonNull(textField, "textField");
        Objects.requireNonNull(labelField, "labelField");
        Objects.requireNonNull(task, "task");
        labels = labels == null ? List.of() : List.copyOf(labels);
        if (task != TaskType.SEQ_CLS && task != TaskType.CAUSAL_LM) {
            throw new IllegalArgumentException("task_type " + task + " has no data loader: expected SEQ_CLS or"
                    + " CAUSAL_LM");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("max_length " + maxLength + ": must be 1 or more");
        }
        if (textField.isEmpty() || labelField.isEmpty() || textField.equals(labelField)) {
            throw new IllegalArgumentException("text_field '" + textField + "' and label_field '" + labelField
                    + "' must be two different, non-empty names");
        }
        if (new HashSet<>(labels).size() != labels.size()) {
            throw new IllegalArgumentException("labels " + labels + ": each name may appear only once");
        }
        if (vocabSize < 0 || numClasses < 0) {
            throw new IllegalArgumentException("vocab size " + vocabSize + " and classes " + numClasses
                    + " must be 0 (unchecked) or more");
        }
    }

    /** The options without model limits (nothing checked against a vocabulary or a classifier). */
    public DataOptions(Format format, String textField, String labelField, List<String> labels, int maxLength,
                       TaskType task) {
        this(format, textField, labelField, labels, maxLength, task, 0, 0, null);
    }

    /** The defaults for a task: format from the extension, fields "text" and "label", labels inferred, 512 tokens. */
    public static DataOptions of(TaskType task) {
        return new DataOptions(null, DEFAULT_TEXT_FIELD, DEFAULT_LABEL_FIELD, List.of(), DEFAULT_MAX_LENGTH, task);
    }

    public DataOptions withMaxLength(int n) {
        return new DataOptions(format, textField, labelField, labels, n, task, vocabSize, numClasses, labelsFrom);
    }

    public DataOptions withLabels(List<String> names) {
        return new DataOptions(format, textField, labelField, names, maxLength, task, vocabSize, numClasses, null);
    }

    /** The class names in id order, and where they come from (for messages: a file, {@code data.labels}). */
    public DataOptions withLabels(List<String> names, String from) {
        return new DataOptions(format, textField, labelField, names, maxLength, task, vocabSize, numClasses, from);
    }

    public DataOptions withFormat(Format f) {
        return new DataOptions(f, textField, labelField, labels, maxLength, task, vocabSize, numClasses, labelsFrom);
    }

    public DataOptions withFields(String text, String label) {
        return new DataOptions(format, text, label, labels, maxLength, task, vocabSize, numClasses, labelsFrom);
    }

    /**
     * The model's limits, checked as the file is read (before any tensor sees a row): token ids below
     * {@code vocabSize}, class ids below {@code numClasses} (0 for either: not checked).
     */
    public DataOptions withModel(int vocabSize, int numClasses) {
        return new DataOptions(format, textField, labelField, labels, maxLength, task, vocabSize, numClasses,
                labelsFrom);
    }

    /** The format of {@code file}: the one set here, else the one its extension names. */
    public Format formatOf(Path file) {
        return format != null ? format : Format.ofExtension(file);
    }
}
