package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.runtime.Ops;

/** The losses transformers computes, in fp32, with {@code -100} labels ignored. */
public final class Losses {
    public static final long IGNORE = -100;

    private Losses() {}

    /**
     * Summed next-token cross-entropy: logits {@code (B, T, V)} at position t predict {@code labels[t + 1]}; labels
     * {@code -100} (padding, prompt tokens) count for nothing. Returns the sum (a scalar, in the graph) so callers
     * can weight batches by their token count exactly as a whole-file mean.
     */
    public static NDArray causalLmSum(Ops ops, NDArray logits, NDArray labels) {
        long t = logits.getShape().get(1);
        NDArray pred = ops.slice(logits, 1, 0, t - 1);
        NDArray target = ops.slice(labels, 1, 1, t);
        return crossEntropySum(ops, pred, target);
    }

    /** Summed cross-entropy of logits {@code (..., C)} against int64 labels {@code (...)}, ignoring {@code -100}. */
    public static NDArray crossEntropySum(Ops ops, NDArray logits, NDArray labels) {
        NDArray logp = ops.logSoftmax(ops.toType(logits, DataType.FLOAT32), -1);
        NDArray valid = ops.toType(ops.isNotIgnored(labels), DataType.FLOAT32);
        // ignored labels gather class 0 and are then zeroed by the mask
        NDArray safe = ops.mul(labels, ops.toType(valid, DataType.INT64));
        NDArray picked = ops.gather(logp, ops.unsqueeze(safe, -1), -1);
        NDArray nll = ops.neg(ops.reshape(picked, labels.getShape().getShape()));
        return ops.sum(ops.mul(nll, valid));
    }

    /** Number of labels that count ({@code != -100}) among the next-token targets of {@code labels (B, T)}. */
    public static long causalLmTokens(long[] labels, int rows, int length) {
        long n = 0;
        for (int r = 0; r < rows; r++) {
            for (int j = 1; j < length; j++) {
                if (labels[r * length + j] != IGNORE) {
                    n++;
                }
            }
        }
        return n;
    }

}
