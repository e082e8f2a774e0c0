package dev.lora4j.run;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A value whose JSON tree is its identity: equal trees mean equal values, and the tree is what a run folder records.
 * Keeps equals, hashCode and toString in line with the file format by construction.
 */
abstract class TreeValue {
    /** The mapping a file holds for this value. */
    public abstract ObjectNode toTree();

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && toTree().equals(((TreeValue) o).toTree());
    }

    @Override
    public final int hashCode() {
        return toTree().hashCode();
    }

    @Override
    public final String toString() {
        return getClass().getSimpleName() + toTree();
    }
}
