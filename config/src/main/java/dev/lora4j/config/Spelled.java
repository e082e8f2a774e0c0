package dev.lora4j.config;

import java.util.Locale;

/**
 * An enum whose constants files spell as their lower-case names ({@code LORA_ONLY} is {@code lora_only}), so that
 * parsing, writing and "allowed: ..." messages come from one place ({@link Choices}).
 */
public interface Spelled {
    String name();

    /** The spelling in files. */
    default String json() {
        return name().toLowerCase(Locale.ROOT);
    }
}
