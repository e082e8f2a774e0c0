package dev.lora4j.run;

import dev.lora4j.config.Choices;
import java.util.Optional;

/** The floating-point format a trial computes in (adapters stay fp32, as PEFT's autocast does). */
public enum Precision {
    FP32("fp32"),
    BF16("bf16"),
    FP16("fp16");

    private final String json;

    Precision(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Optional<Precision> parse(String s) {
        return Choices.parse(values(), Precision::json, s);
    }
}
