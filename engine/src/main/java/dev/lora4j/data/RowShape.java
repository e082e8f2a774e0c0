package dev.lora4j.data;

import dev.lora4j.config.TaskType;
import java.util.Optional;
import java.util.Set;

/** The kinds of rows a data file can hold; every row of one file is of one kind. */
public enum RowShape {
    /** {@code {"text": ...}} (the text field is configurable). */
    TEXT,
    /** {@code {"prompt": ..., "completion": ...}}. */
    PROMPT_COMPLETION,
    /** {@code {"input_ids": [...]}} with optional {@code "labels": [...]}. */
    TOKENS,
    /** {@code {"text": ..., "label": ...}} for SEQ_CLS (both fields configurable). */
    LABELED_TEXT;

    static final String PROMPT = "prompt";
    static final String COMPLETION = "completion";
    static final String INPUT_IDS = "input_ids";
    static final String LABELS = "labels";

    /**
     * The shape the present field names make. SEQ_CLS rows are always text and label (a missing one is that row's
     * error). For CAUSAL_LM, pre-tokenised ids win over prompt/completion, which win over text, so that files keeping
     * the source text beside its tokens, or a text column beside prompt and completion, still read as meant.
     */
    static Optional<RowShape> detect(Set<String> names, DataOptions options) {
        if (options.task() == TaskType.SEQ_CLS) {
            return Optional.of(LABELED_TEXT);
        }
        if (names.contains(INPUT_IDS)) {
            return Optional.of(TOKENS);
        }
        if (names.contains(PROMPT) || names.contains(COMPLETION)) {
            return Optional.of(PROMPT_COMPLETION);
        }
        if (names.contains(options.textField())) {
            return Optional.of(TEXT);
        }
        return Optional.empty();
    }

    /** The fields this shape needs, as a user would write them. */
    String fields(DataOptions options) {
        return switch (this) {
            case TEXT -> quote(options.textField());
            case PROMPT_COMPLETION -> quote(PROMPT) + " + " + quote(COMPLETION);
            case TOKENS -> quote(INPUT_IDS) + " (+ " + quote(LABELS) + ")";
            case LABELED_TEXT -> quote(options.textField()) + " + " + quote(options.labelField());
        };
    }

    /** Every shape the task accepts, for "expected ..." messages. */
    static String allowed(DataOptions options) {
        if (options.task() == TaskType.SEQ_CLS) {
            return LABELED_TEXT.fields(options);
        }
        return TEXT.fields(options) + ", " + PROMPT_COMPLETION.fields(options) + " or " + TOKENS.fields(options);
    }

    static String quote(String name) {
        return '"' + name + '"';
    }
}
