package dev.lora4j.train;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Batches;
import dev.lora4j.data.Cursor;
import dev.lora4j.data.TokenizedDataset;

/** A trial's training batches over a tokenised data set: seeded reshuffle per epoch, restorable position. */
public final class TrainingBatches implements BatchSource {
    private final TokenizedDataset data;
    private final int batchSize;
    private final long seed;
    private final boolean groupByLength;
    private Batches batches;

    public TrainingBatches(TokenizedDataset data, int batchSize, long seed) {
        this(data, batchSize, seed, false);
    }

    /** With {@code groupByLength}, transformers' {@code group_by_length} ({@link Batches#groupByLength}). */
    public TrainingBatches(TokenizedDataset data, int batchSize, long seed, boolean groupByLength) {
        this.data = data;
        this.batchSize = batchSize;
        this.seed = seed;
        this.groupByLength = groupByLength;
        this.batches = Batches.training(data, batchSize, seed, Cursor.START, groupByLength);
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int batchesPerEpoch() {
        return batches.plan().batchesPerEpoch();
    }

    @Override
    public Batch next() {
        return batches.next();
    }

    @Override
    public Cursor cursor() {
        return batches.cursor();
    }

    @Override
    public BatchSource at(Cursor cursor) {
        TrainingBatches copy = new TrainingBatches(data, batchSize, seed, groupByLength);
        copy.seek(cursor);
        return copy;
    }

    @Override
    public void seek(Cursor cursor) {
        batches = Batches.training(data, batchSize, seed, cursor, groupByLength);
    }
}
