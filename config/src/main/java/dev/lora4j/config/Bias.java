package dev.lora4j.config;

import java.util.Optional;

/** Which base biases a LoRA adapter trains and saves (PEFT's {@code bias}; {@link #json()} is PEFT's spelling). */
public enum Bias implements Spelled {
    NONE,
    ALL,
    LORA_ONLY;

    public static Optional<Bias> parse(String s) {
        return Choices.parse(values(), s);
    }

    public static String allowed() {
        return Choices.allowed(values());
    }
}
