package dev.lora4j.files;

import dev.lora4j.config.Spelled;

/** What a config file is, judged by its content; {@link #json()} is the name reports use. */
public enum FileKind implements Spelled {
    /** PEFT's adapter_config.json (peft_type, r, target_modules). */
    ADAPTER,
    /** A lora4j sweep (parameters, method). */
    SWEEP,
    /** A lora4j training config for one run (model, data, training, lora). */
    TRAIN,
    /** Unreadable, or not a config lora4j knows. */
    UNKNOWN
}
