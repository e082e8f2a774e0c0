package dev.lora4j.run;

import dev.lora4j.config.Problems;
import dev.lora4j.config.Suggestions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The base model of a run: a local Hugging Face folder (config.json plus safetensors weights), or
 * {@code builtin:NAME}, a model the engine ships.
 */
public sealed interface ModelSpec {
    String BUILTIN_PREFIX = "builtin:";

    /**
     * The names {@code builtin:NAME} may use: the models the engine ships ({@code dev.lora4j.model.Builtins}, which
     * checks that it ships exactly these). Here so that a config file naming another one is refused when it is read.
     */
    List<String> BUILTINS = List.of("all-minilm-l6-v2");

    /** The value as the file wrote it. */
    String text();

    boolean isBuiltin();

    /** The folder, resolved against the file that named it; builtin models have none. */
    Path path();

    /** A folder on disk. */
    record Local(String text, Path path) implements ModelSpec {
        @Override
        public boolean isBuiltin() {
            return false;
        }
    }

    /** A model the engine provides by name. */
    record Builtin(String text, String name) implements ModelSpec {
        @Override
        public boolean isBuiltin() {
            return true;
        }

        @Override
        public Path path() {
            throw new UnsupportedOperationException("builtin model '" + name + "' has no folder");
        }
    }

    /** {@code builtin:NAME}, or a path resolved against {@code baseDir} (the folder of the file naming it). */
    static ModelSpec parse(String text, Path baseDir) {
        if (text.startsWith(BUILTIN_PREFIX)) {
            return new Builtin(text, text.substring(BUILTIN_PREFIX.length()));
        }
        return new Local(text, baseDir.resolve(text).toAbsolutePath().normalize());
    }

    /** Reports a missing folder, a folder that is not a Hugging Face model, or a malformed builtin name. */
    default void validate(String path, Problems p) {
        if (this instanceof Builtin b) {
            if (!BUILTINS.contains(b.name())) {
                List<String> known = BUILTINS.stream().map(n -> BUILTIN_PREFIX + n).toList();
                p.error(path, "unknown builtin model '" + b.text() + "'" + Suggestions.closest(b.text(), known)
                        .map(k -> "; did you mean '" + k + "'?").orElse("") + " (available: " + String.join(", ", known)
                        + "; or the path of a Hugging Face model folder)");
            }
            return;
        }
        Path dir = path();
        if (!Files.exists(dir) && Files.isSymbolicLink(dir)) {
            p.error(path, dir + " is a symbolic link that leads to no folder (a loop of links, or its target is"
                    + " missing)");
        } else if (!Files.exists(dir)) {
            p.error(path, "no such model folder: " + dir);
        } else if (!Files.isDirectory(dir)) {
            p.error(path, dir + " is a file; expected a Hugging Face model folder (config.json + model.safetensors)");
        } else if (!Files.isRegularFile(dir.resolve("config.json"))) {
            p.error(path, dir + " is not a Hugging Face model folder: it has no config.json");
        } else if (!Files.isRegularFile(dir.resolve("model.safetensors"))
                && !Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) {
            p.error(path, dir + " has no model.safetensors or model.safetensors.index.json (lora4j reads safetensors "
                    + "weights)");
        }
    }
}
