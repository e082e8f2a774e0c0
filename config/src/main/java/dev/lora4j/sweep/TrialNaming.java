package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.JsonText;
import dev.lora4j.config.Numbers;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** Trial ids (hashes of the values, and of the draw number in a random sweep) and trial names (readable tokens). */
final class TrialNaming {
    private static final int ID_HEX_DIGITS = 10;
    private static final int MAX_NAME = 120;
    /** Short names for the fields people sweep most, as they say them: {@code r8-alpha16-lr5e-4}. */
    private static final Map<String, String> ALIASES = Map.of("lora.r", "r", "lora.lora_alpha", "alpha",
            "training.learning_rate", "lr", "lora.lora_dropout", "dropout", "training.weight_decay", "wd");

    /** The fields people sweep most first (r, alpha, lr, dropout, wd), then the others by name. */
    static final java.util.Comparator<FieldRef> FIELD_ORDER = java.util.Comparator
            .comparingInt((FieldRef f) -> {
                int i = List.of("lora.r", "lora.lora_alpha", "training.learning_rate", "lora.lora_dropout",
                        "training.weight_decay").indexOf(f.canonical());
                return i < 0 ? Integer.MAX_VALUE : i;
            }).thenComparing(FieldRef::canonical);

    private TrialNaming() {}

    /**
     * The id of a grid point: the first 10 hex digits of the SHA-256 of the canonical JSON (sorted keys, integral
     * numbers without a fraction) of the assignment, e.g. of {@code {"lora.lora_alpha":16,"lora.r":8}}. A pure function
     * of the values; the parser refuses grids in which two points have the same values, so no two grid trials share an
     * id.
     */
    static String gridId(Map<String, JsonNode> assignment) {
        return hash(object(assignment));
    }

    /**
     * The id of random draw {@code draw} (0-based, the trial's index): the same hash, of the canonical JSON of
     * {@code {"draw":DRAW,"parameters":ASSIGNMENT}}, e.g. {@code {"draw":3,"parameters":{"lora.r":4}}}. Two draws of
     * the same values are two trials with two ids; the same draw of the same sweep has the same id in every run, and
     * it is computed from that draw alone. No grid id hashes this shape (grid keys are fields such as {@code lora.r}).
     */
    static String randomId(long draw, Map<String, JsonNode> assignment) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("draw", draw);
        o.set("parameters", object(assignment));
        return hash(o);
    }

    private static ObjectNode object(Map<String, JsonNode> assignment) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        assignment.forEach(o::set);
        return o;
    }

    private static String hash(JsonNode node) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(JsonText.canonical(node).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash).substring(0, ID_HEX_DIGITS);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Tokens of the varying parameters in declaration order, joined by {@code -}. */
    static String name(List<Parameter> parameters, Map<String, JsonNode> assignment) {
        List<FieldRef> fields = new ArrayList<>();
        for (Parameter p : parameters) {
            if (p.varies()) {
                fields.add(p.field());
            }
        }
        return nameOf(fields, assignment);
    }

    /** Tokens of {@code fields} in order, joined by {@code -}: {@code r8-alpha16-lr5e-4}. */
    static String nameOf(List<FieldRef> fields, Map<String, JsonNode> assignment) {
        List<String> tokens = new ArrayList<>();
        for (FieldRef f : fields) {
            String field = f.canonical();
            String value = value(assignment.get(field));
            String alias = ALIASES.get(field);
            tokens.add(alias != null ? alias + value : String.join(".", f.path()) + "=" + value);
        }
        String name = safe(String.join("-", tokens));
        if (name.isEmpty()) {
            return "trial";
        }
        return name.length() > MAX_NAME ? name.substring(0, MAX_NAME) : name;
    }

    private static String value(JsonNode v) {
        if (v == null || v.isNull()) {
            return "null";
        }
        if (v.isIntegralNumber()) {
            return v.asText();
        }
        if (v.isNumber()) {
            double d = v.doubleValue();
            // random draws carry 17 digits; three are enough to tell trials apart by eye
            double shown = d == 0 || Double.isInfinite(d) || Double.isNaN(d) ? d
                    : new java.math.BigDecimal(d).round(new MathContext(3, RoundingMode.HALF_EVEN)).doubleValue();
            return Numbers.compact(shown);
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isArray()) {
            List<String> parts = new ArrayList<>();
            v.forEach(e -> parts.add(value(e)));
            return String.join("+", parts);
        }
        return v.isObject() ? JsonText.canonical(v) : v.asText();
    }

    /** Letters, digits and {@code . _ = + -}; anything else (slashes, spaces, quotes) becomes {@code _}. */
    private static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9._=+-]", "_");
    }
}
