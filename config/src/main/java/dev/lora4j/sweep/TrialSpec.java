package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TaskType;
import dev.lora4j.config.Validation;
import dev.lora4j.run.DataSpec;
import dev.lora4j.run.ModelSpec;
import dev.lora4j.run.RunSpec;
import dev.lora4j.run.TrainingConfig;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One trial of a sweep: the base run with the parameter values of this point applied.
 *
 * @param id unique within the sweep, and the name of the trial's folder {@code runs/<sweep>/trials/<id>/}: the first 10
 *     hex digits of the SHA-256 of a canonical JSON text (keys sorted, no spaces, integral numbers without a fraction).
 *     <b>Grid</b>: the text of {@code parameters} alone, {@code {"lora.lora_alpha":16,"lora.r":8}}, so the same values
 *     give the same id in every run and on every JVM, whatever the order they were declared in (a grid in which two
 *     points have the same values is refused when the sweep is read). <b>Random</b>: the text of
 *     {@code {"draw":INDEX,"parameters":{...}}}, so two draws of the same values are two trials with two ids, and draw
 *     {@code index} of the same sweep file gets the same id in every run (a resumed sweep finds its folders)
 * @param name readable and filesystem-safe, e.g. {@code r8-alpha16-lr5e-4}; not necessarily unique
 * @param index position in the sweep's expansion (grid order, or draw number)
 * @param parameters the value of every parameter, keyed by canonical field ({@code lora.r}), in declaration order
 * @param validation problems of this particular combination (the sweep's own checks passed)
 */
public record TrialSpec(String id, String name, long index, Map<String, JsonNode> parameters, LoraConfig lora,
                        TrainingConfig training, ModelSpec model, DataSpec data, TaskType task, Validation validation) {
    public TrialSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        Objects.requireNonNull(lora, "lora");
        Objects.requireNonNull(training, "training");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(validation, "validation");
    }

    public boolean isValid() {
        return validation.isValid();
    }

    /**
     * The trial as a training config of its own ({@code run}: what {@code bin/lora4j train} reads, with absolute
     * paths) plus its identity; {@link #fromTree} reads it back. This is how a trial travels to another node.
     */
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("name", name);
        o.put("index", index);
        ObjectNode p = o.putObject("parameters");
        parameters.forEach(p::set);
        o.set("run", runTree());
        return o;
    }

    /** The trial as a training config of its own, with absolute paths (a trial folder's {@code train.json}). */
    public ObjectNode runTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", name.replaceAll("[^A-Za-z0-9._-]", "_"));
        o.put("model", model.isBuiltin() ? model.text() : model.path().toString());
        o.put("task", task.name());
        o.set("data", data.toTree());
        o.set("training", training.toTree());
        o.set("lora", LoraConfigJson.toTree(lora));
        return o;
    }

    /**
     * Reads a trial written by {@link #toTree}, checking it as a training config (its model and data files must exist
     * here). Its validation holds the warnings of that check.
     *
     * @throws ConfigException if the tree does not describe a valid run on this machine
     */
    public static TrialSpec fromTree(JsonNode tree) {
        String id = tree.path("id").asText();
        Loaded<RunSpec> run = RunSpec.fromTree(tree.path("run"), Path.of("trial-" + id + ".json").toAbsolutePath());
        Map<String, JsonNode> parameters = new LinkedHashMap<>();
        tree.path("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(), e.getValue()));
        RunSpec r = run.value();
        return new TrialSpec(id, tree.path("name").asText(), tree.path("index").asLong(), parameters, r.lora(),
                r.training(), r.model(), r.data(), r.task(), new Validation(java.util.List.of(), run.warnings()));
    }
}
