package dev.lora4j.lora;

/** A LoRA config that cannot be applied to a model; the message says what was expected (PEFT's wording where PEFT has one). */
public class LoraException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LoraException(String message) {
        super(message);
    }
}
