package dev.lora4j.config;

import java.util.Optional;

/** Which base biases a LoRA adapter trains and saves (PEFT's {@code bias}). */
public enum Bias {
    NONE("none"),
    ALL("all"),
    LORA_ONLY("lora_only");

    private final String json;

    Bias(String json) {
        this.json = json;
    }

    /** The value as PEFT writes it. */
    public String json() {
        return json;
    }

    public static Optional<Bias> parse(String s) {
        return Choices.parse(values(), Bias::json, s);
    }

    public static String allowed() {
        return Choices.allowed(values(), Bias::json);
    }
}
