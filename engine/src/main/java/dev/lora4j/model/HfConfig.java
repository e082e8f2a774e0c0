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
