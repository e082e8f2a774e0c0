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
        // a mask without padding changes nothing: leaving it out spares the model building and adding it
        return new ModelInput(ops.longs(inputIds, s), padded() ? ops.longs(attentionMask, s) : null,
                tokenTypeIds == null ? null : ops.longs(tokenTypeIds, s));
    }

    /** Whether the attention mask hides any position. */
    public boolean padded() {
        if (attentionMask == null) {
            return false;
        }
        for (long m : attentionMask) {
            if (m != 1) {
                return true;
            }
        }
        return false;
    }

    public NDArray labels(Ops ops) {
        return labels.length == rows ? ops.longs(labels, new Shape(rows)) : ops.longs(labels, new Shape(rows, length));
    }
}
