package dev.lora4j.run;

import dev.lora4j.config.Choices;
import dev.lora4j.config.Spelled;
import java.util.Optional;

/** The floating-point format a trial computes in ({@code fp32}, {@code bf16}, {@code fp16}); adapters stay fp32. */
public enum Precision implements Spelled {
    FP32,
    BF16,
    FP16;

    public static Optional<Precision> parse(String s) {
        return Choices.parse(values(), s);
    }
}
