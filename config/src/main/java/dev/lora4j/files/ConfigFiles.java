package dev.lora4j.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Documents;
import dev.lora4j.config.ForeignConfigs;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.LoraConfigValidator;
import dev.lora4j.config.Validation;
import dev.lora4j.run.RunSpec;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks any config file lora4j reads, recognising it by content rather than by name: a PEFT adapter config, a
 * sweep, or a training config. A folder stands for the adapter_config.json inside it.
 */
public final class ConfigFiles {
    private static final String NOT_A_CONFIG = "not a lora4j or PEFT config: ";

    private ConfigFiles() {}

    /** What {@code node} is by its keys; {@link FileKind#UNKNOWN} when none fits. */
    public static FileKind kindOf(JsonNode node) {
        if (!(node instanceof ObjectNode o) || ForeignConfigs.describe(o).isPresent()) {
            return FileKind.UNKNOWN;
        }
        if (o.has("parameters") || o.has("method")) {
            return FileKind.SWEEP;
        }
        if (o.has("peft_type") || o.has("r") || o.has("target_modules")) {
            return FileKind.ADAPTER;
        }
        if (o.has("model") || o.has("data") || o.has("training") || o.has("lora")) {
            return FileKind.TRAIN;
        }
        return FileKind.UNKNOWN;
    }

    /** Reads, recognises and validates {@code path}; never throws for a bad file. */
    public static FileReport check(String path) {
        Path file = Path.of(path);
        if (Files.isDirectory(file)) {
            Path adapter = file.resolve(LoraConfigJson.FILE_NAME);
            if (!Files.isRegularFile(adapter)) {
                return failed(path, FileKind.UNKNOWN, "is a folder without an " + LoraConfigJson.FILE_NAME
                        + "; pass a config file, or a PEFT adapter folder");
            }
            return adapter(path, adapter);
        }
        JsonNode root;
        try {
            root = Documents.read(file);
        } catch (ConfigException e) {
            return new FileReport(path, FileKind.UNKNOWN, "", e.errors(), List.of());
        }
        FileKind kind = kindOf(root);
        boolean namedAsAdapter = LoraConfigJson.FILE_NAME.equals(String.valueOf(file.getFileName()));
        if (kind == FileKind.ADAPTER || (kind == FileKind.UNKNOWN && namedAsAdapter && root.isObject())) {
            return adapter(path, file);
        }
        try {
            return switch (kind) {
                case SWEEP -> {
                    Loaded<SweepSpec> s = SweepSpec.fromTree(root, file);
                    yield new FileReport(path, kind, "sweep " + s.value().summary(), List.of(), s.warnings());
                }
                case TRAIN -> {
                    Loaded<RunSpec> r = RunSpec.fromTree(root, file);
                    yield new FileReport(path, kind, "train " + r.value().summary(), List.of(), r.warnings());
                }
                default -> failed(path, FileKind.UNKNOWN, NOT_A_CONFIG + unknownReason(root));
            };
        } catch (ConfigException e) {
            return new FileReport(path, kind, "", e.errors(), List.of());
        }
    }

    private static FileReport adapter(String path, Path file) {
        Loaded<LoraConfig> loaded;
        try {
            loaded = LoraConfigJson.read(file);
        } catch (ConfigException e) {
            return new FileReport(path, FileKind.ADAPTER, "", e.errors(), List.of());
        }
        Validation v = LoraConfigValidator.validate(loaded.value());
        List<String> warnings = new ArrayList<>(loaded.warnings());
        warnings.addAll(v.warnings());
        String summary = v.isValid() ? loaded.value().summary() : "";
        return new FileReport(path, FileKind.ADAPTER, summary, v.errors(), warnings);
    }

    private static String unknownReason(JsonNode root) {
        if (!(root instanceof ObjectNode o)) {
            return "the file holds " + (root.isArray() ? "a list" : "a single value") + ", expected a mapping of keys";
        }
        Optional<String> foreign = ForeignConfigs.describe(o);
        return foreign.orElseGet(() -> "expected a PEFT adapter_config.json (peft_type, r, target_modules), a sweep "
                + "(parameters, method) or a training config (model, data, training, lora); found keys: "
                + ForeignConfigs.someKeys(o, 8));
    }

    private static FileReport failed(String path, FileKind kind, String message) {
        return new FileReport(path, kind, "", List.of(ConfigError.ofFile(message)), List.of());
    }
}
