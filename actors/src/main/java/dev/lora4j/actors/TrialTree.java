package dev.lora4j.actors;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.sweep.TrialSpec;
import java.util.Optional;

/**
 * A trial as it travels to the node that trains it: within one JVM the spec itself; between nodes its JSON tree
 * ({@link TrialSpec#toTree()}), which the receiving node reads back once it has its own copies of the data files.
 */
public final class TrialTree {
    @JsonIgnore
    private ObjectNode tree;
    @JsonIgnore
    private final transient TrialSpec spec;

    private TrialTree(ObjectNode tree, TrialSpec spec) {
        this.tree = tree;
        this.spec = spec;
    }

    public static TrialTree of(TrialSpec spec) {
        return new TrialTree(null, spec);
    }

    @JsonCreator
    static TrialTree fromJson(@JsonProperty("tree") ObjectNode tree) {
        return new TrialTree(tree, null);
    }

    /** The trial's tree (what travels between nodes). */
    @JsonGetter("tree")
    public synchronized ObjectNode tree() {
        if (tree == null) {
            tree = spec.toTree();
        }
        return tree;
    }

    /** The spec, when this came from the same JVM (no need to read the tree). */
    public Optional<TrialSpec> spec() {
        return Optional.ofNullable(spec);
    }

    public String id() {
        return spec != null ? spec.id() : tree.path("id").asText();
    }
}
