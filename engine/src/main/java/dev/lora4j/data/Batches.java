package dev.lora4j.data;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The batches of a data set in plan order, with a {@link Cursor} that says where the next one comes from.
 * Training batches never run out (epoch after epoch, each freshly shuffled; the trainer decides when to stop);
 * evaluation batches are one pass in file order.
 */
public final class Batches implements Iterator<Batch> {
    private final TokenizedDataset data;
    private final BatchPlan plan;
    private final boolean endless;
    private final int[] groupLengths;
    private Cursor cursor;
    private int[] order;
    private int orderEpoch = -1;

    private Batches(TokenizedDataset data, BatchPlan plan, boolean endless, Cursor start, boolean groupByLength) {
        if (start.index() >= plan.batchesPerEpoch()) {
            throw new IllegalArgumentException("cursor " + start + " is past the " + plan.batchesPerEpoch()
                    + " batches of an epoch of " + plan.rows() + " rows in batches of " + plan.batchSize()
                    + "; was it saved for another data set or batch size?");
        }
        this.data = data;
        this.plan = plan;
        this.endless = endless;
        this.cursor = start;
        this.groupLengths = groupByLength ? data.lengths() : null;
    }

    /** Shuffled training batches from the start. */
    public static Batches training(TokenizedDataset data, int batchSize, long seed) {
        return training(data, batchSize, seed, Cursor.START);
    }

    /** Shuffled training batches from a saved cursor: the same batches an uninterrupted run takes from there. */
    public static Batches training(TokenizedDataset data, int batchSize, long seed, Cursor from) {
        return training(data, batchSize, seed, from, false);
    }

    /**
     * As {@link #training(TokenizedDataset, int, long, Cursor)}; with {@code groupByLength} each epoch's shuffled
     * order is grouped by length as transformers' {@code group_by_length} does ({@link #groupByLength}).
     */
    public static Batches training(TokenizedDataset data, int batchSize, long seed, Cursor from,
            boolean groupByLength) {
        return new Batches(data, BatchPlan.shuffled(data.size(), batchSize, seed), true, from, groupByLength);
    }

    /** One pass in file order (the last batch may be smaller). */
    public static Batches evaluation(TokenizedDataset data, int batchSize) {
        return new Batches(data, BatchPlan.inOrder(data.size(), batchSize), false, Cursor.START, false);
    }

    /**
     * transformers' {@code get_length_grouped_indices} on an epoch's shuffled {@code order}: mega-batches of
     * {@code min(rows / (4 batch), 50)} batches (at least one), each sorted by length, longest first (a stable sort,
     * as Python's), and the longest row of all swapped to the very front, so that a batch too large for memory fails
     * at once rather than late in the epoch.
     */
    public static int[] groupByLength(int[] order, int[] lengths, int batchSize) {
        int n = order.length;
        int mult = (int) Math.min(n / (4L * batchSize), 50);
        long megaSize = Math.max(1, mult) * (long) batchSize;
        Integer[] out = new Integer[n];
        for (int i = 0; i < n; i++) {
            out[i] = order[i];
        }
        int longestMega = 0;
        int longest = -1;
        for (int from = 0; from < n; from += (int) Math.min(megaSize, n)) {
            int to = (int) Math.min(n, from + megaSize);
            java.util.Arrays.sort(out, from, to, (a, b) -> Integer.compare(lengths[b], lengths[a]));
            if (lengths[out[from]] > longest) {
                longest = lengths[out[from]];
                longestMega = from;
            }
        }
        Integer first = out[0];
        out[0] = out[longestMega];
        out[longestMega] = first;
        int[] result = new int[n];
        for (int i = 0; i < n; i++) {
            result[i] = out[i];
        }
        return result;
    }

    public BatchPlan plan() {
        return plan;
    }

    /** Where the next batch comes from; save it to resume. */
    public Cursor cursor() {
        return cursor;
    }

    @Override
    public boolean hasNext() {
        return endless || cursor.epoch() == 0;
    }

    @Override
    public Batch next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the evaluation pass is over");
        }
        if (orderEpoch != cursor.epoch()) {
            order = plan.order(cursor.epoch());
            if (groupLengths != null) {
                order = groupByLength(order, groupLengths, plan.batchSize());
            }
            orderEpoch = cursor.epoch();
        }
        Batch b = data.batch(plan.batch(order, cursor.index()));
        cursor = cursor.next(plan.batchesPerEpoch());
        return b;
    }
}
