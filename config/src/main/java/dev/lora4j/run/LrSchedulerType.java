package dev.lora4j.run;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.util.Optional;

/** The learning-rate schedules lora4j implements, spelled as Hugging Face's {@code lr_scheduler_type}. */
public enum LrSchedulerType implements Spelled {
    CONSTANT,
    LINEAR,
    COSINE;

    public static Optional<LrSchedulerType> parse(String s) {
        return Choices.parse(values(), s);
    }
}
