package dev.lora4j.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.model.Losses;
import dev.lora4j.model.ModelInput;
import dev.lora4j.runtime.Ops;
import java.util.Arrays;
import java.util.List;

/**
 * One padded batch as Java arrays, row-major {@code (rows, length)}: every row right-padded to the longest in the
 * batch with the pad id, attention mask 0 and label {@code -100} on padding.
 *
 * @param rowIndices    which data-set rows, in batch order
 * @param rows          number of rows
 * @param length        the longest row's length
 * @param inputIds      token ids
 * @param attentionMask 1 for a token, 0 for padding
 * @param labels        causal LM: per-token labels with {@code -100} on ignored and padding positions; null for
 *                      SEQ_CLS
 * @param tokenTypes    token type ids (0 on padding), or null when all are 0
 * @param classLabels   SEQ_CLS: one class id per row; null for causal LM
 * @param labelTokens   how many labels the loss counts: causal LM, the non-ignored next-token targets (position 0
 *                      predicts nothing, as in {@link Losses#causalLmTokens}); SEQ_CLS, the rows
 * @param positionIds   packed rows: each token's position in its own row (0 at each row's start, 0 on padding);
 *                      null when nothing is packed
 * @param segmentIds    packed rows: which row of the sequence each token belongs to (0, 1, ...; -1 on padding);
 *                      null when nothing is packed
 */
public record Batch(int[] rowIndices, int rows, int length, long[] inputIds, long[] attentionMask, long[] labels,
                    long[] tokenTypes, long[] classLabels, long labelTokens, long[] positionIds, long[] segmentIds) {

    /** A batch without packed rows. */
    public Batch(int[] rowIndices, int rows, int length, long[] inputIds, long[] attentionMask, long[] labels,
            long[] tokenTypes, long[] classLabels, long labelTokens) {
        this(rowIndices, rows, length, inputIds, attentionMask, labels, tokenTypes, classLabels, labelTokens, null,
                null);
    }

    /** Pads {@code examples} (the rows {@code rowIndices} of a data set) into one batch. */
    public static Batch of(int[] rowIndices, List<Example> examples, long padId) {
        int b = examples.size();
        int t = examples.stream().mapToInt(Example::length).max().orElse(0);
        boolean classification = b > 0 && examples.get(0).labels() == null;
        boolean types = examples.stream().anyMatch(e -> e.tokenTypes() != null);
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        long[] labels = classification ? null : new long[b * t];
        long[] tokenTypes = types ? new long[b * t] : null;
        long[] classes = classification ? new long[b] : null;
        boolean packed = examples.stream().anyMatch(e -> e.segments() != null);
        long[] positions = packed ? new long[b * t] : null;
        long[] segments = packed ? new long[b * t] : null;
        for (int r = 0; r < b; r++) {
            Example e = examples.get(r);
            int n = e.length();
            int at = r * t;
            System.arraycopy(e.inputIds(), 0, ids, at, n);
            Arrays.fill(ids, at + n, at + t, padId);
            Arrays.fill(mask, at, at + n, 1);
            if (labels != null) {
                System.arraycopy(e.labels(), 0, labels, at, n);
                Arrays.fill(labels, at + n, at + t, Losses.IGNORE);
            }
            if (tokenTypes != null && e.tokenTypes() != null) {
                System.arraycopy(e.tokenTypes(), 0, tokenTypes, at, n);
            }
            if (classes != null) {
                classes[r] = e.classLabel();
            }
            if (packed) {
                int[] lengths = e.segments() != null ? e.segments() : new int[] {n};
                int p = at;
                for (int s = 0; s < lengths.length; s++) {
                    for (int j = 0; j < lengths[s]; j++, p++) {
                        positions[p] = j;
                        segments[p] = s;
                    }
                }
                Arrays.fill(segments, at + n, at + t, -1);
            }
        }
        long counted = classification ? b : Losses.causalLmTokens(labels, b, t);
        return new Batch(rowIndices, b, t, ids, mask, labels, tokenTypes, classes, counted, positions, segments);
    }

    /** Tokens the model computes over: rows x padded length (what padding costs, next to {@link #tokens}). */
    public long paddedTokens() {
        return (long) rows * length;
    }

    /** Real (non-padding) tokens in the batch, for throughput figures. */
    public long tokens() {
        long n = 0;
        for (long m : attentionMask) {
            n += m;
        }
        return n;
    }

    private Shape shape() {
        return new Shape(rows, length);
    }

    /** Ids, mask and token types as int64 tensors owned by {@code ops}'s scope. */
    public ModelInput modelInput(Ops ops) {
        // a mask without padding changes nothing: leaving it out spares the model building and adding it
        return new ModelInput(ops.longs(inputIds, shape()), padded() ? ops.longs(attentionMask, shape()) : null,
                tokenTypes == null ? null : ops.longs(tokenTypes, shape()),
                positionIds == null ? null : ops.longs(positionIds, shape()),
                segmentIds == null ? null : ops.longs(segmentIds, shape()));
    }

    /** Whether the attention mask hides any position. */
    public boolean padded() {
        for (long m : attentionMask) {
            if (m != 1) {
                return true;
            }
        }
        return false;
    }

    /** Causal LM: the labels {@code (rows, length)} int64. */
    public NDArray labelArray(Ops ops) {
        if (labels == null) {
            throw new IllegalStateException("a classification batch has class labels, not token labels");
        }
        return ops.longs(labels, shape());
    }

    /** SEQ_CLS: the class ids {@code (rows,)} int64. */
    public NDArray classLabelArray(Ops ops) {
        if (classLabels == null) {
            throw new IllegalStateException("a causal-LM batch has token labels, not class labels");
        }
        return ops.longs(classLabels, new Shape(rows));
    }
}
