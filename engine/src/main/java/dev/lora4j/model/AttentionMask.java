package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.runtime.Ops;

/**
 * Which keys each query of a forward pass may attend to, as an additive mask (0 where visible, the most negative
 * float where hidden): causality (optionally within a sliding window), keys that are padding, and the rows of a
 * packed sequence (a query sees only keys of its own row). Attention over the whole matrix uses {@link #full()},
 * made once per pass; attention in query blocks asks for the block it computes ({@link #block}) and computes only the
 * keys that some query of the block can see ({@link #firstKey}, {@link #endKey}).
 */
public final class AttentionMask {
    static final float HIDDEN = -Float.MAX_VALUE;

    private final NDArray full;
    private final boolean causal;
    private final int window;
    private final NDArray keyPadding;
    private final NDArray segments;
    private final int keys;

    private AttentionMask(NDArray full, boolean causal, int window, NDArray keyPadding, NDArray segments, int keys) {
        this.full = full;
        this.causal = causal;
        this.window = window;
        this.keyPadding = keyPadding;
        this.segments = segments;
        this.keys = keys;
    }

    /**
     * A mask made whole in advance, {@code (1 or B, 1, queries, keys)} or broadcastable to it; null hides nothing.
     * Block queries then slice it.
     */
    public static AttentionMask whole(NDArray full, boolean causal, int window, int keys) {
        return new AttentionMask(full, causal, window, null, null, keys);
    }

    /**
     * A mask made block by block: causal (keys after the query hidden) when {@code causal}, keys at distance
     * {@code window} or more hidden when {@code window > 0}, plus the additive key padding {@code (B, 1, 1, keys)}
     * and the packed rows' ids {@code (B, keys)} float32 (a query sees only keys with its own id), each optional.
     */
    public static AttentionMask blockwise(boolean causal, int window, NDArray keyPadding, NDArray segments,
            int keys) {
        return new AttentionMask(null, causal, window, keyPadding, segments, keys);
    }

    /** The whole mask, or null when nothing is hidden or the mask is made block by block. */
    public NDArray full() {
        return full;
    }

    /** The first key any query in {@code [q0, ...)} can see. */
    public int firstKey(int q0) {
        return causal && window > 0 ? Math.max(0, q0 - window + 1) : 0;
    }

    /** One past the last key any query before {@code q1} can see. */
    public int endKey(int q1) {
        return causal ? Math.min(q1, keys) : keys;
    }

    /**
     * The additive mask of queries {@code [q0, q1)} and keys {@code [k0, k1)}, broadcastable to
     * {@code (B, heads, q1 - q0, k1 - k0)}, in {@code ops}'s scope; null when it hides nothing.
     */
    public NDArray block(Ops ops, int q0, int q1, int k0, int k1) {
        if (full != null) {
            NDArray rows = full.getShape().get(2) == 1 ? full : ops.slice(full, 2, q0, q1);
            return ops.slice(rows, 3, k0, k1);
        }
        NDArray hidden = null;
        if (causal) {
            NDArray q = ops.reshape(ops.arange(q0, q1), q1 - q0, 1);
            NDArray k = ops.reshape(ops.arange(k0, k1), 1, k1 - k0);
            hidden = ops.gt(k, q);
            if (window > 0) {
                // i - j >= window, i.e. i - j > window - 1
                hidden = ops.or(hidden, ops.gt(ops.sub(q, k), ops.scalar(window - 1)));
            }
            hidden = ops.reshape(hidden, 1, 1, q1 - q0, k1 - k0);
        }
        if (segments != null) {
            long b = segments.getShape().get(0);
            NDArray sq = ops.reshape(ops.slice(segments, 1, q0, q1), b, 1, q1 - q0, 1);
            NDArray sk = ops.reshape(ops.slice(segments, 1, k0, k1), b, 1, 1, k1 - k0);
            NDArray other = ops.neq(sq, sk);
            hidden = hidden == null ? other : ops.or(hidden, other);
        }
        NDArray mask = hidden == null ? null
                : ops.where(hidden, ops.scalar(HIDDEN), ops.scalar(0));
        if (keyPadding != null) {
            NDArray pad = ops.slice(keyPadding, 3, k0, k1);
            mask = mask == null ? pad : ops.add(mask, pad);
        }
        return mask;
    }

    /**
     * The additive mask {@code (B, 1, T, T)} that keeps each query of a packed sequence to the keys of its own row:
     * {@code segments (B, T)} holds each position's row id.
     */
    static NDArray segmentMask(Ops ops, NDArray segments) {
        long b = segments.getShape().get(0);
        long t = segments.getShape().get(1);
        NDArray ids = ops.toType(segments, DataType.FLOAT32);
        NDArray other = ops.neq(ops.reshape(ids, b, 1, t, 1), ops.reshape(ids, b, 1, 1, t));
        return ops.where(other, ops.scalar(HIDDEN), ops.scalar(0));
    }
}
