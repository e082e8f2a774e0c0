package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.model.ModelInput;
import dev.lora4j.runtime.Ops;

/**
 * One padded batch as Java arrays: token ids, attention mask and (BERT) token types, all {@code rows x length};
 * labels are per token ({@code rows x length}, -100 ignored) for causal LMs or per row for classifiers.
 * {@code counted} is what the loss is averaged over: predicted tokens, or rows.
 */
public record MicroBatch(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, long[] labels, int rows,
        int length, long counted, long tokens) {

    public ModelInput input(Ops ops) {
        Shape s = new Shape(rows, length);
        return new ModelInput(ops.longs(inputIds, s), ops.longs(attentionMask, s),
                tokenTypeIds == null ? null : ops.longs(tokenTypeIds, s));
    }

    public NDArray labels(Ops ops) {
        return labels.length == rows ? ops.longs(labels, new Shape(rows)) : ops.longs(labels, new Shape(rows, length));
    }
}
