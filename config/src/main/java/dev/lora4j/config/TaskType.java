package dev.lora4j.config;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** PEFT's six task types, spelled exactly as PEFT writes them (case-sensitive). */
public enum TaskType {
    SEQ_CLS,
    SEQ_2_SEQ_LM,
    CAUSAL_LM,
    TOKEN_CLS,
    QUESTION_ANS,
    FEATURE_EXTRACTION;

    /** The exact-case lookup PEFT does: {@code "causal_lm"} is not a task type. */
    public static Optional<TaskType> parse(String s) {
        for (TaskType t : values()) {
            if (t.name().equals(s)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** "SEQ_CLS, SEQ_2_SEQ_LM, ..." in PEFT's order, for error messages. */
    public static String allowed() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
