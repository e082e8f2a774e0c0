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
        try (Ops lo = ops.child()) {
            // views of the logits in a scope of their own, so closing the logits frees them
            NDArray pred = lo.slice(logits, 1, 0, t - 1);
            NDArray target = lo.slice(labels, 1, 1, t);
            return lo.keep(crossEntropySum(lo, pred, target), ops);
        }
    }

    /**
     * Summed cross-entropy of logits {@code (..., C)} against int64 labels {@code (...)}, ignoring {@code -100}. Its
     * temporaries (the log-probabilities, as large as the logits) are freed when it returns; autograd keeps what
     * backward needs until backward has run.
     */
    public static NDArray crossEntropySum(Ops ops, NDArray logits, NDArray labels) {
        try (Ops lo = ops.child()) {
            NDArray logp = lo.logSoftmax(lo.toType(logits, DataType.FLOAT32), -1);
            NDArray valid = lo.toType(lo.isNotIgnored(labels), DataType.FLOAT32);
            // ignored labels gather class 0 and are then zeroed by the mask
            NDArray safe = lo.mul(labels, lo.toType(valid, DataType.INT64));
            NDArray picked = lo.gather(logp, lo.unsqueeze(safe, -1), -1);
            NDArray nll = lo.neg(lo.reshape(picked, labels.getShape().getShape()));
            return lo.keep(lo.sum(lo.mul(nll, valid)), ops);
        }
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
