package dev.lora4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A Hugging Face {@code config.json}, read with transformers' defaults for the fields lora4j uses. The raw tree is
 * kept so a merged model is written back with every key the user had.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final ObjectNode raw;

    private HfConfig(Path file, ObjectNode raw) {
        this.file = file;
        this.raw = raw;
    }

    public static HfConfig read(Path folder) throws IOException {
        Path f = folder.resolve("config.json");
        JsonNode n;
        try {
            n = JSON.readTree(f.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            if (!java.nio.file.Files.exists(folder) && java.nio.file.Files.isSymbolicLink(folder)) {
                throw new ModelException(folder + ": a symbolic link that leads to no folder (a loop of links, or its"
                        + " target is missing)");
            }
            throw new ModelException(folder + ": no config.json (expected a Hugging Face model folder with config.json"
                    + " and model.safetensors)");
        } catch (IOException e) {
            throw new ModelException(f + ": not valid JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ModelException(f + ": expected a JSON object");
        }
        return new HfConfig(f, (ObjectNode) n);
    }

    public static HfConfig of(ObjectNode raw) {
        return new HfConfig(null, raw);
    }

    /** Where it was read from, for error messages ({@code config.json} when built in memory). */
    public String source() {
        return file == null ? "config.json" : file.toString();
    }

    public ObjectNode raw() {
        return raw;
    }

    public String modelType() {
        JsonNode t = raw.get("model_type");
        if (t == null || !t.isTextual()) {
            throw new ModelException(source() + ": model_type is missing");
        }
        return t.asText();
    }

    public int requireInt(String key) {
        JsonNode v = raw.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new ModelException(source() + ": " + key + " is missing or not an integer");
        }
        return v.asInt();
    }

    /**
     * A size (a count of units, heads, layers, tokens): an integer >= 1. transformers does not check these, and a
     * zero or negative one fails deep inside PyTorch or silently builds an empty model; lora4j refuses it here,
     * naming the file and the field.
     */
    public int size(String key) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) {
            throw new ModelException(source() + ": " + key + " is missing; it must be a positive integer");
        }
        return checkedSize(key, v);
    }

    /**
     * A count that may be zero (transformers builds a model of {@code num_hidden_layers: 0}: embeddings and a head):
     * a required integer >= 0.
     */
    public int count(String key) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) {
            throw new ModelException(source() + ": " + key + " is missing; it must be an integer >= 0");
        }
        if (!isInteger(v) || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw invalid(key, "an integer >= 0", v);
        }
        return v.asInt();
    }

    /** {@link #size} for an optional field: {@code def} when absent or null. */
    public int sizeOr(String key, int def) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? def : checkedSize(key, v);
    }

    private int checkedSize(String key, JsonNode v) {
        if (!isInteger(v) || v.asLong() < 1) {
            throw invalid(key, "a positive integer", v);
        }
        if (v.asLong() > Integer.MAX_VALUE) {
            throw invalid(key, "a positive integer up to " + Integer.MAX_VALUE, v);
        }
        return v.asInt();
    }

    /** An optional integer from {@code min} to {@code max}; {@code def} when absent or null. */
    public int intInRange(String key, int def, long min, long max, String allowed) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!isInteger(v) || v.asLong() < min || v.asLong() > max) {
            throw invalid(key, allowed, v);
        }
        return v.asInt();
    }

    /** An optional finite number {@code >= min} (or {@code > min} when not {@code inclusive}). */
    public double numberAtLeast(String key, double def, double min, boolean inclusive) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        double d = v.isNumber() ? v.asDouble() : Double.NaN;
        if (!Double.isFinite(d) || d < min || (!inclusive && d == min)) {
            throw invalid(key, "a number " + (inclusive ? ">= " : "> ") + formatted(min), v);
        }
        return d;
    }

    /** An optional dropout probability: a number from 0 to 1, as torch.nn.Dropout requires. */
    public double probabilityOr(String key, double def) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        double d = v.isNumber() ? v.asDouble() : Double.NaN;
        if (!(d >= 0 && d <= 1)) {
            throw invalid(key, "a probability from 0 to 1", v);
        }
        return d;
    }

    /** The error for a field of this config.json: the file, the field, what is allowed and what it holds. */
    public ModelException invalid(String key, String allowed, JsonNode got) {
        return new ModelException(source() + ": " + key + " must be " + allowed + ", got " + got);
    }

    private static boolean isInteger(JsonNode v) {
        if (v.isIntegralNumber()) {
            return v.canConvertToLong();
        }
        // Python writes some integer fields as 64.0; a fraction is no size
        return v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) && Math.abs(v.asDouble()) < 9e15;
    }

    private static String formatted(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    public int intOr(String key, int def) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? def : v.asInt();
    }

    public double doubleOr(String key, double def) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? def : v.asDouble();
    }

    public boolean boolOr(String key, boolean def) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? def : v.asBoolean();
    }

    public String stringOr(String key, String def) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? def : v.asText();
    }

    public Optional<JsonNode> get(String key) {
        JsonNode v = raw.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }
}
