package dev.lora4j.config;

import java.util.Collection;
import java.util.Optional;

/**
 * PEFT's {@code get_pattern_key}: the first pattern (in insertion order) that matches a dot-bounded suffix of a
 * module key, or the whole key. Patterns are regex fragments: {@code "layers.1.lin0"} does not match
 * {@code layers.11.lin0}, and a leading {@code ^} only works for a full key.
 */
public final class PatternKeys {
    private PatternKeys() {}

    public static Optional<String> find(Collection<String> patterns, String key) {
        for (String p : patterns) {
            if (matches(p, key)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Python's {@code re.match("(.*\.)?(" + p + ")$", key)}: anchored at the start, {@code $} at the end; the pattern
     * is Python syntax ({@link PythonRegex}). A pattern Python refuses matches nothing (validation reports it).
     */
    public static boolean matches(String pattern, String key) {
        try {
            return PythonRegex.compile("(.*\\.)?(" + pattern + ")$").matcher(key).lookingAt();
        } catch (PythonRegex.SyntaxError e) {
            return false;
        }
    }
}
