package dev.lora4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * A JSON/YAML mapping being read into typed values. A value of the wrong type is reported to {@link Problems} with
 * its path and reads as absent, so reading continues and every bad field is reported in one go.
 */
public final class Section {
    private static final int SHOWN_CHARS = 60;

    private final ObjectNode node;
    private final String path;
    private final Problems problems;

    public Section(ObjectNode node, String path, Problems problems) {
        this.node = node;
        this.path = path;
        this.problems = problems;
    }

    /** The mapping at {@code path}, or empty (with an error) when {@code value} is not a mapping. */
    public static Optional<Section> of(JsonNode value, String path, Problems problems) {
        if (value instanceof ObjectNode o) {
            return Optional.of(new Section(o, path, problems));
        }
        problems.error(path, "must be a mapping of keys to values, got " + show(value));
        return Optional.empty();
    }

    public ObjectNode node() {
        return node;
    }

    public String path() {
        return path;
    }

    public Problems problems() {
        return problems;
    }

    /** The full path of a key of this section. */
    public String path(String key) {
        return Problems.join(path, key);
    }

    /** Present, even if null. */
    public boolean has(String key) {
        return node.has(key);
    }

    /** Present and not null. */
    public boolean hasValue(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    public Optional<JsonNode> value(String key) {
        return Optional.ofNullable(node.get(key));
    }

    public Optional<Integer> integer(String key) {
        return read(key, false, "an integer", Section::asInt);
    }

    /** Like {@link #integer} but {@code null} means "unset" (HF's None). */
    public Optional<Integer> integerOrNull(String key) {
        return read(key, true, "an integer", Section::asInt);
    }

    public Optional<Long> longInteger(String key) {
        return read(key, false, "an integer", Section::asLong);
    }

    public Optional<Double> number(String key) {
        return read(key, false, "a number", v -> v.isNumber() ? Optional.of(v.doubleValue()) : Optional.empty());
    }

    public Optional<Boolean> bool(String key) {
        return read(key, false, "true or false", v -> v.isBoolean() ? Optional.of(v.booleanValue()) : Optional.empty());
    }

    public Optional<String> string(String key) {
        return read(key, false, "a string", v -> v.isTextual() ? Optional.of(v.textValue()) : Optional.empty());
    }

    public Optional<String> stringOrNull(String key) {
        return read(key, true, "a string", v -> v.isTextual() ? Optional.of(v.textValue()) : Optional.empty());
    }

    /** A list of strings; {@code null} reads as absent. */
    public Optional<List<String>> stringsOrNull(String key) {
        return read(key, true, "a list of strings", Section::asStrings);
    }

    /** A nested mapping; {@code null} reads as absent. */
    public Optional<Section> section(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        return of(v, path(key), problems);
    }

    /** Reports every key not in {@code known}, suggesting the closest known one. */
    public void rejectUnknown(Collection<String> known) {
        for (String key : unknownKeys(known)) {
            problems.error(path(key), "unknown key" + Suggestions.hint(key, known));
        }
    }

    public List<String> unknownKeys(Collection<String> known) {
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                unknown.add(k);
            }
        }
        return unknown;
    }

    private interface Reader<T> {
        Optional<T> read(JsonNode v);
    }

    private <T> Optional<T> read(String key, boolean nullable, String expected, Reader<T> reader) {
        JsonNode v = node.get(key);
        if (v == null || (nullable && v.isNull())) {
            return Optional.empty();
        }
        Optional<T> t = reader.read(v);
        if (t.isEmpty()) {
            problems.error(path(key), key + " must be " + expected + ", got " + show(v));
        }
        return t;
    }

    /** An int, accepting integral floats such as {@code 8.0} (Python writes those for some int fields). */
    public static Optional<Integer> asInt(JsonNode v) {
        return asLong(v).filter(l -> l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE).map(Long::intValue);
    }

    public static Optional<Long> asLong(JsonNode v) {
        if (v == null || !v.isNumber()) {
            return Optional.empty();
        }
        if (v.isIntegralNumber()) {
            return v.canConvertToLong() ? Optional.of(v.longValue()) : Optional.empty();
        }
        double d = v.doubleValue();
        return d == Math.rint(d) && Math.abs(d) < 9e15 ? Optional.of((long) d) : Optional.empty();
    }

    public static Optional<List<String>> asStrings(JsonNode v) {
        if (!v.isArray()) {
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                return Optional.empty();
            }
            out.add(e.textValue());
        }
        return Optional.of(out);
    }

    /** A JSON value as a message shows it: strings quoted, long values cut. */
    public static String show(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        String s = v.isTextual() ? "\"" + v.textValue() + "\"" : v.toString();
        return s.length() > SHOWN_CHARS ? s.substring(0, SHOWN_CHARS - 3) + "..." : s;
    }
}
