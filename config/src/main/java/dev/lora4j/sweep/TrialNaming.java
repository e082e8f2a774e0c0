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

/** Trial ids (hashes of the values) and trial names (readable tokens of the values). */
final class TrialNaming {
    private static final int ID_HEX_DIGITS = 10;
    private static final int MAX_NAME = 120;
    /** Short names for the fields people sweep most, as they say them: {@code r8-alpha16-lr5e-4}. */
    private static final Map<String, String> ALIASES = Map.of("lora.r", "r", "lora.lora_alpha", "alpha",
            "training.learning_rate", "lr", "lora.lora_dropout", "dropout", "training.weight_decay", "wd");

    private TrialNaming() {}

    /** SHA-256 of the canonical JSON (sorted keys, integral numbers without a fraction) of the assignment. */
    static String id(Map<String, JsonNode> assignment) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        assignment.forEach(o::set);
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(JsonText.canonical(o).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash).substring(0, ID_HEX_DIGITS);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Tokens of the varying parameters in declaration order, joined by {@code -}. */
    static String name(List<Parameter> parameters, Map<String, JsonNode> assignment) {
        List<String> tokens = new ArrayList<>();
        for (Parameter p : parameters) {
            if (!p.varies()) {
                continue;
            }
            String field = p.field().canonical();
            String value = value(assignment.get(field));
            String alias = ALIASES.get(field);
            tokens.add(alias != null ? alias + value : String.join(".", p.field().path()) + "=" + value);
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
