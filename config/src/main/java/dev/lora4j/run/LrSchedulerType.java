package dev.lora4j.run;

import dev.lora4j.config.Choices;
import java.util.Optional;

/** The learning-rate schedules lora4j implements, spelled as Hugging Face's {@code lr_scheduler_type}. */
public enum LrSchedulerType {
    CONSTANT("constant"),
    LINEAR("linear"),
    COSINE("cosine");

    private final String json;

    LrSchedulerType(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Optional<LrSchedulerType> parse(String s) {
        return Choices.parse(values(), LrSchedulerType::json, s);
    }
}
