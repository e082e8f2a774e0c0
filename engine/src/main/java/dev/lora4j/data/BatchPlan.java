package dev.lora4j.data;

import java.util.Random;

/**
 * Which rows make up each batch: {@code rows} rows in batches of {@code batchSize}, the last one partial when the
 * size does not divide (transformers' {@code drop_last=False}), in a fresh order each epoch when shuffled.
 *
 * <p>An epoch's order is a function of (seed, epoch) alone: a Fisher-Yates shuffle driven by a
 * {@link java.util.Random} seeded from both. {@code Random}'s algorithm is fixed by its specification, so the order
 * is the same on every JVM, in every run and on resume, whatever else the process does. (It is not PyTorch's
 * sampler order: lora4j does not promise the same batches as a Python run, only the same across its own runs.)
 */
public record BatchPlan(int rows, int batchSize, long seed, boolean shuffle) {

    public BatchPlan {
        if (rows < 1) {
            throw new IllegalArgumentException("a batch plan needs at least one row, got " + rows);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ": must be 1 or more");
        }
    }

    public static BatchPlan shuffled(int rows, int batchSize, long seed) {
        return new BatchPlan(rows, batchSize, seed, true);
    }

    public static BatchPlan inOrder(int rows, int batchSize) {
        return new BatchPlan(rows, batchSize, 0, false);
    }

    /** ceil(rows / batchSize), without overflow: a batch size above the rows gives one batch of every row. */
    public int batchesPerEpoch() {
        return rows / batchSize + (rows % batchSize == 0 ? 0 : 1);
    }

    /** Every row index once, in the order epoch {@code epoch} visits them. */
    public int[] order(int epoch) {
        int[] order = new int[rows];
        for (int i = 0; i < rows; i++) {
            order[i] = i;
        }
        if (shuffle) {
            Random rng = new Random(mix(mix(seed) + epoch));
            for (int i = rows - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** The rows of batch {@code index} given its epoch's {@link #order}. */
    public int[] batch(int[] order, int index) {
        if (index < 0 || index >= batchesPerEpoch()) {
            throw new IllegalArgumentException("batch " + index + " of an epoch of " + batchesPerEpoch());
        }
        int from = (int) ((long) index * batchSize);
        int to = (int) Math.min(rows, (long) from + batchSize);
        int[] out = new int[to - from];
        System.arraycopy(order, from, out, 0, out.length);
        return out;
    }

    /**
     * SplitMix64's finaliser: nearby (seed, epoch) pairs become unrelated {@code Random} seeds (Random's own seed
     * scrambling is a single xor, so seeds 1 and 2 would start alike).
     */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
