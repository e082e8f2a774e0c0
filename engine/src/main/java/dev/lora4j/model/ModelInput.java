package dev.lora4j.model;

import ai.djl.ndarray.NDArray;

/**
 * One batch for a forward pass: token ids {@code (B, T)} int64, the attention mask {@code (B, T)} (1 = token,
 * 0 = padding; null = no padding), and BERT's token type ids (null = all zero).
 */
public record ModelInput(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
    public static ModelInput of(NDArray inputIds) {
        return new ModelInput(inputIds, null, null);
    }

    public int batchSize() {
        return (int) inputIds.getShape().get(0);
    }

    public int length() {
        return (int) inputIds.getShape().get(1);
    }
}
