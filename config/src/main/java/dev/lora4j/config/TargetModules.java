package dev.lora4j.config;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * PEFT's {@code target_modules} / {@code exclude_modules}: a set of names (exact key or dot-bounded suffix), one
 * regular expression that must match the whole key, or the keyword {@code all-linear} (only as a string).
 */
public sealed interface TargetModules {

    /** Names as a set: duplicates removed, first-seen order kept so files stay readable. */
    record Names(List<String> names) implements TargetModules {
        public Names {
            names = List.copyOf(new LinkedHashSet<>(names));
        }

        public static Names of(String... names) {
            return new Names(List.of(names));
        }
    }

    /** A regex string matched with full-match semantics against the whole module key. */
    record Regex(String pattern) implements TargetModules {}

    /** The string {@code "all-linear"} (any case): every linear layer but the output layer. */
    record AllLinear(String spelling) implements TargetModules {}

    /** The string form as PEFT would read it: {@code "all-linear"} in any case is the keyword. */
    static TargetModules ofString(String s) {
        return s.toLowerCase(Locale.ROOT).equals("all-linear") ? new AllLinear(s) : new Regex(s);
    }

    static TargetModules ofNames(List<String> names) {
        return new Names(new ArrayList<>(names));
    }

    /** Short human form, e.g. {@code [q_proj, v_proj]}, {@code all-linear}, {@code /.*q_proj/}. */
    default String describe() {
        if (this instanceof Names n) {
            return n.names().toString();
        }
        if (this instanceof AllLinear a) {
            return a.spelling();
        }
        return "/" + ((Regex) this).pattern() + "/";
    }
}
