package dev.lora4j.model;

import ai.djl.ndarray.NDArray;

/**
 * One batch for a forward pass: token ids {@code (B, T)} int64, the attention mask {@code (B, T)} (1 = token,
 * 0 = padding; null = no padding), BERT's token type ids (null = all zero), and for packed sequences (several rows
 * concatenated into one, TRL's {@code packing}) each position's position id and row id {@code (B, T)} int64, so that
 * positions restart and attention stays within each row (both null when nothing is packed).
 */
public record ModelInput(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, NDArray positionIds,
                         NDArray segmentIds) {

    /** An input without packed rows. */
    public ModelInput(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        this(inputIds, attentionMask, tokenTypeIds, null, null);
    }

    public static ModelInput of(NDArray inputIds) {
        return new ModelInput(inputIds, null, null);
    }

    public int batchSize() {
        return (int) inputIds.getShape().get(0);
    }

    public int length() {
        return (int) inputIds.getShape().get(1);
    }

    /** Whether rows were packed into the sequences (positions and attention restart at each row). */
    public boolean packed() {
        return segmentIds != null;
    }
}
