package dev.lora4j.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every module of a model in definition order, as PEFT's target matching sees them, plus the facts PEFT's
 * {@code all-linear} rule needs (which module is the output layer; whether it is a transformers model).
 */
public final class ModuleTree {
    private final String modelType;
    private final Map<String, ModuleNode> nodes;
    private final String outputLayer;
    private final boolean transformersModel;

    public ModuleTree(String modelType, List<ModuleNode> nodes, String outputLayer, boolean transformersModel) {
        this.modelType = modelType;
        Map<String, ModuleNode> m = new LinkedHashMap<>();
        for (ModuleNode n : nodes) {
            if (m.put(n.path(), n) != null) {
                throw new IllegalArgumentException("duplicate module path " + n.path());
            }
        }
        this.nodes = Collections.unmodifiableMap(m);
        this.outputLayer = outputLayer;
        this.transformersModel = transformersModel;
    }

    /** The Hugging Face {@code model_type} ({@code llama}, {@code bert}, ...), or {@code custom}. */
    public String modelType() {
        return modelType;
    }

    public List<ModuleNode> nodes() {
        return List.copyOf(nodes.values());
    }

    public Optional<ModuleNode> get(String path) {
        return Optional.ofNullable(nodes.get(path));
    }

    public ModuleNode require(String path) {
        ModuleNode n = nodes.get(path);
        if (n == null) {
            throw new IllegalArgumentException("no module " + path);
        }
        return n;
    }

    /** Linear and Conv1D layers in definition order. */
    public List<ModuleNode> linears() {
        List<ModuleNode> out = new ArrayList<>();
        for (ModuleNode n : nodes.values()) {
            if (n.isLinear()) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * The output-embedding module ({@code lm_head}) for transformers models, which {@code all-linear} leaves alone.
     */
    public Optional<String> outputLayer() {
        return Optional.ofNullable(outputLayer);
    }

    /** PEFT only excludes the output layer from {@code all-linear} for transformers {@code PreTrainedModel}s. */
    public boolean transformersModel() {
        return transformersModel;
    }

    /** Whether a top-level attribute of this name exists (PEFT's SEQ_CLS head lookup: score, classifier). */
    public boolean hasTopLevel(String name) {
        return nodes.containsKey(name);
    }
}
