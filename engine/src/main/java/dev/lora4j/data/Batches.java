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
    private Cursor cursor;
    private int[] order;
    private int orderEpoch = -1;

    private Batches(TokenizedDataset data, BatchPlan plan, boolean endless, Cursor start) {
        if (start.index() >= plan.batchesPerEpoch()) {
            throw new IllegalArgumentException("cursor " + start + " is past the " + plan.batchesPerEpoch()
                    + " batches of an epoch of " + plan.rows() + " rows in batches of " + plan.batchSize()
                    + "; was it saved for another data set or batch size?");
        }
        this.data = data;
        this.plan = plan;
        this.endless = endless;
        this.cursor = start;
    }

    /** Shuffled training batches from the start. */
    public static Batches training(TokenizedDataset data, int batchSize, long seed) {
        return training(data, batchSize, seed, Cursor.START);
    }

    /** Shuffled training batches from a saved cursor: the same batches an uninterrupted run takes from there. */
    public static Batches training(TokenizedDataset data, int batchSize, long seed, Cursor from) {
        return new Batches(data, BatchPlan.shuffled(data.size(), batchSize, seed), true, from);
    }

    /** One pass in file order (the last batch may be smaller). */
    public static Batches evaluation(TokenizedDataset data, int batchSize) {
        return new Batches(data, BatchPlan.inOrder(data.size(), batchSize), false, Cursor.START);
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
            orderEpoch = cursor.epoch();
        }
        Batch b = data.batch(plan.batch(order, cursor.index()));
        cursor = cursor.next(plan.batchesPerEpoch());
        return b;
    }
}
