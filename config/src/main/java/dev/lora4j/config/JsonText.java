package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * JSON text in two fixed layouts. {@link #peft} is byte-for-byte what Python's
 * {@code json.dumps(obj, indent=2, sort_keys=True)} writes (PEFT's adapter_config.json), so files lora4j writes diff
 * cleanly against PEFT's. {@link #canonical} is a compact form whose text depends only on the values (keys sorted,
 * integral numbers without a fraction), for hashing.
 */
public final class JsonText {
    private JsonText() {}

    public static String peft(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        pretty(node, sb, 0);
        return sb.toString();
    }

    public static String canonical(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        compact(node, sb);
        return sb.toString();
    }

    private static void pretty(JsonNode n, StringBuilder sb, int depth) {
        if (n.isObject() && n.size() > 0) {
            sb.append("{\n");
            List<String> keys = sortedKeys(n);
            for (int i = 0; i < keys.size(); i++) {
                indent(sb, depth + 1);
                string(keys.get(i), sb);
                sb.append(": ");
                pretty(n.get(keys.get(i)), sb, depth + 1);
                sb.append(i + 1 < keys.size() ? ",\n" : "\n");
            }
            indent(sb, depth);
            sb.append('}');
        } else if (n.isArray() && n.size() > 0) {
            sb.append("[\n");
            for (int i = 0; i < n.size(); i++) {
                indent(sb, depth + 1);
                pretty(n.get(i), sb, depth + 1);
                sb.append(i + 1 < n.size() ? ",\n" : "\n");
            }
            indent(sb, depth);
            sb.append(']');
        } else if (n.isObject()) {
            sb.append("{}");
        } else if (n.isArray()) {
            sb.append("[]");
        } else {
            scalar(n, sb, false);
        }
    }

    private static void compact(JsonNode n, StringBuilder sb) {
        if (n.isObject()) {
            sb.append('{');
            List<String> keys = sortedKeys(n);
            for (int i = 0; i < keys.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                string(keys.get(i), sb);
                sb.append(':');
                compact(n.get(keys.get(i)), sb);
            }
            sb.append('}');
        } else if (n.isArray()) {
            sb.append('[');
            for (int i = 0; i < n.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                compact(n.get(i), sb);
            }
            sb.append(']');
        } else {
            scalar(n, sb, true);
        }
    }

    private static void scalar(JsonNode n, StringBuilder sb, boolean canonicalNumbers) {
        if (n.isTextual()) {
            string(n.textValue(), sb);
        } else if (n.isIntegralNumber()) {
            sb.append(n.bigIntegerValue());
        } else if (n.isNumber()) {
            sb.append(canonicalNumbers ? Numbers.format(n.doubleValue()) : Numbers.pythonRepr(n.doubleValue()));
        } else if (n.isBoolean()) {
            sb.append(n.booleanValue());
        } else {
            sb.append("null");
        }
    }

    private static List<String> sortedKeys(JsonNode n) {
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            keys.add(it.next());
        }
        // Python sorts str by code point; String.compareTo compares UTF-16 units, equal outside surrogate pairs
        keys.sort(String::compareTo);
        return keys;
    }

    private static void indent(StringBuilder sb, int depth) {
        sb.append("  ".repeat(depth));
    }

    /** Python's ensure_ascii=True escaping. */
    private static void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
