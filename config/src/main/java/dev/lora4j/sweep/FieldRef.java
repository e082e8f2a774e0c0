package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.LoraKeys;
import dev.lora4j.config.Spelled;
import dev.lora4j.config.Suggestions;
import dev.lora4j.run.TrainingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A field a sweep parameter sets: a key of the {@code lora} or {@code training} mapping, or a sub-key of a LoRA
 * mapping field ({@code lora.rank_pattern.down_proj}).
 */
public record FieldRef(Part part, List<String> path) {
    /** The mapping of the sweep file that holds the field. */
    public enum Part implements Spelled {
        LORA,
        TRAINING
    }

    /** LoRA keys a sweep may not set: they identify the file or contradict {@code task}. */
    private static final Set<String> NOT_SWEEPABLE = Set.of("peft_type", "runtime_config", "task_type");

    public FieldRef {
        path = List.copyOf(path);
        if (path.isEmpty()) {
            throw new IllegalArgumentException("empty field path");
        }
    }

    /** {@code lora.r}, {@code training.learning_rate}: the name ids and assignments use. */
    public String canonical() {
        return part.json() + "." + String.join(".", path);
    }

    /** The top-level key within its mapping. */
    public String key() {
        return path.get(0);
    }

    /** Whether the field holds integers (ranks, steps, seeds), so draws and ties are rounded. */
    public boolean integer() {
        if (part == Part.TRAINING) {
            return TrainingConfig.INTEGER_KEYS.contains(key());
        }
        return path.size() == 1 ? LoraKeys.INTEGER_KEYS.contains(key()) : key().equals("rank_pattern");
    }

    /** The value in {@code tree} (the {@code lora} or {@code training} mapping), or a missing node. */
    public JsonNode get(ObjectNode tree) {
        JsonNode n = tree;
        for (String s : path) {
            n = n.path(s);
        }
        return n.isMissingNode() ? MissingNode.getInstance() : n;
    }

    /** Sets the value in {@code tree}, creating mappings on the way (a sweep may add a rank_pattern key). */
    public void set(ObjectNode tree, JsonNode value) {
        ObjectNode n = tree;
        for (String s : path.subList(0, path.size() - 1)) {
            JsonNode child = n.get(s);
            n = child instanceof ObjectNode o ? o : n.putObject(s);
        }
        n.set(path.get(path.size() - 1), value);
    }

    @Override
    public String toString() {
        return canonical();
    }

    /** What a parameter name resolved to: the field, or why it names none. */
    public sealed interface Resolution {
        record Found(FieldRef field) implements Resolution {}

        record NotFound(String message) implements Resolution {}
    }

    /**
     * Resolves a parameter name: {@code lora.r} and {@code training.learning_rate} name their mapping; a bare name
     * ({@code r}, {@code learning_rate}) is looked up in lora, then training, and must be in exactly one of them.
     */
    public static Resolution resolve(String name) {
        List<String> parts = Arrays.asList(name.split("\\.", -1));
        if (parts.stream().anyMatch(String::isEmpty)) {
            return new Resolution.NotFound("\"" + name + "\" is not a field name");
        }
        String first = parts.get(0);
        if (parts.size() > 1 && (first.equals("lora") || first.equals("training"))) {
            Part part = first.equals("lora") ? Part.LORA : Part.TRAINING;
            return check(part, parts.subList(1, parts.size()), name);
        }
        boolean lora = loraKeys().contains(first);
        boolean training = TrainingConfig.KEYS.contains(first);
        if (lora && training) {
            return new Resolution.NotFound("\"" + first + "\" is a field of both lora and training: write lora."
                    + name + " or training." + name);
        }
        if (lora || training) {
            return check(lora ? Part.LORA : Part.TRAINING, parts, name);
        }
        Set<String> all = new TreeSet<>(loraKeys());
        all.addAll(TrainingConfig.KEYS);
        return new Resolution.NotFound("unknown parameter \"" + name + "\": name a field of lora or training (r, "
                + "lora_alpha, learning_rate, lora.r, training.seed, ...)" + Suggestions.closest(first, all)
                .map(k -> "; did you mean '" + k + "'?").orElse(""));
    }

    private static Resolution check(Part part, List<String> path, String name) {
        String key = path.get(0);
        List<String> known = part == Part.LORA ? new ArrayList<>(loraKeys()) : TrainingConfig.KEYS;
        if (!known.contains(key)) {
            return new Resolution.NotFound("unknown " + part.json() + " field \"" + key + "\" in \"" + name + "\""
                    + Suggestions.closest(key, known).map(k -> "; did you mean '" + k + "'?").orElse(""));
        }
        if (part == Part.LORA && NOT_SWEEPABLE.contains(key)) {
            return new Resolution.NotFound(key + " cannot be swept" + (key.equals("task_type") ? ": set task" : ""));
        }
        boolean mapping = key.equals("rank_pattern") || key.equals("alpha_pattern") || key.endsWith("_config");
        if (path.size() > 1 && (part == Part.TRAINING || !mapping)) {
            return new Resolution.NotFound(part.json() + "." + key + " has no sub-fields; only rank_pattern, "
                    + "alpha_pattern and *_config mappings do");
        }
        return new Resolution.Found(new FieldRef(part, path));
    }

    private static Set<String> loraKeys() {
        Set<String> k = new TreeSet<>(LoraKeys.PEFT_FIELDS);
        k.remove(LoraKeys.RUNTIME_CONFIG);
        return k;
    }
}
