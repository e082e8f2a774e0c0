package dev.lora4j.files;

/** What a config file is, judged by its content. */
public enum FileKind {
    /** PEFT's adapter_config.json (peft_type, r, target_modules). */
    ADAPTER("adapter"),
    /** A lora4j sweep (parameters, method). */
    SWEEP("sweep"),
    /** A lora4j training config for one run (model, data, training, lora). */
    TRAIN("train"),
    /** Unreadable, or not a config lora4j knows. */
    UNKNOWN("unknown");

    private final String json;

    FileKind(String json) {
        this.json = json;
    }

    /** The name reports use. */
    public String json() {
        return json;
    }
}
