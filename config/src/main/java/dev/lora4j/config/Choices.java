package dev.lora4j.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** Closed sets of strings in files (enum constants with the spelling users write), parsed with a helpful error. */
public final class Choices {
    private Choices() {}

    /** The constant whose spelling is exactly {@code s}. */
    public static <E extends Enum<E>> Optional<E> parse(E[] values, Function<E, String> spelling, String s) {
        for (E e : values) {
            if (spelling.apply(e).equals(s)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** {@code "a", "b", "c"}. */
    public static <E extends Enum<E>> String allowed(E[] values, Function<E, String> spelling) {
        List<String> quoted = new ArrayList<>();
        for (E e : values) {
            quoted.add("\"" + spelling.apply(e) + "\"");
        }
        return String.join(", ", quoted);
    }

    /** Reads {@code key} of {@code s} as one of {@code values}; reports a bad value with the allowed ones. */
    public static <E extends Enum<E>> Optional<E> read(Section s, String key, E[] values, Function<E, String> spelling) {
        return s.string(key).flatMap(v -> {
            Optional<E> e = parse(values, spelling, v);
            if (e.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (E c : values) {
                    names.add(spelling.apply(c));
                }
                String hint = Suggestions.closest(v, names).map(n -> "; did you mean '" + n + "'?").orElse("");
                s.problems().error(s.path(key), key + " must be one of " + allowed(values, spelling) + ", got \"" + v
                        + "\"" + hint);
            }
            return e;
        });
    }
}
