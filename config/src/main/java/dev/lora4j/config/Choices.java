package dev.lora4j.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Closed sets of strings in files ({@link Spelled} enums), parsed with an error that lists what is allowed. */
public final class Choices {
    private Choices() {}

    /** The constant spelled exactly {@code s} (case-sensitive, as PEFT and Hugging Face compare). */
    public static <E extends Enum<E> & Spelled> Optional<E> parse(E[] values, String s) {
        for (E e : values) {
            if (e.json().equals(s)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** {@code "a", "b", "c"}. */
    public static <E extends Enum<E> & Spelled> String allowed(E[] values) {
        List<String> quoted = new ArrayList<>();
        for (E e : values) {
            quoted.add("\"" + e.json() + "\"");
        }
        return String.join(", ", quoted);
    }

    /** Reads {@code key} of {@code s} as one of {@code values}; reports a bad value with the allowed ones. */
    public static <E extends Enum<E> & Spelled> Optional<E> read(Section s, String key, E[] values) {
        return s.string(key).flatMap(v -> {
            Optional<E> e = parse(values, v);
            if (e.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (E c : values) {
                    names.add(c.json());
                }
                String hint = Suggestions.closest(v, names).map(n -> "; did you mean '" + n + "'?").orElse("");
                s.problems().error(s.path(key), key + " must be one of " + allowed(values) + ", got \"" + v + "\""
                        + hint);
            }
            return e;
        });
    }
}
