package dev.lora4j.bench;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;
import dev.lora4j.model.Losses;
import dev.lora4j.train.BatchSource;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded uniform token batches without padding, labels = inputs (the causal loss shifts them itself), as the
 * peer's {@code torch.randint} batches: the benchmark measures the step, not the data.
 */
final class RandomTokens implements BatchSource {
    private final BenchShape shape;
    private final int perEpoch;
    private final SplittableRandom rng;
    private Cursor cursor = Cursor.START;

    RandomTokens(BenchShape shape, int perEpoch, long seed) {
        this.shape = shape;
        this.perEpoch = perEpoch;
        this.rng = new SplittableRandom(seed);
    }

    /** {@code rows x length} ids from {@code rng}. */
    static long[] ids(SplittableRandom rng, int rows, int length, int vocab) {
        long[] ids = new long[rows * length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(vocab);
        }
        return ids;
    }

    /** A full (unpadded) causal-LM batch over {@code ids}: every position a token, labels = ids. */
    static Batch batch(long[] ids, int rows, int length) {
        long[] mask = new long[ids.length];
        Arrays.fill(mask, 1);
        int[] rowIndices = new int[rows];
        Arrays.setAll(rowIndices, i -> i);
        return new Batch(rowIndices, rows, length, ids, mask, ids.clone(), null, null,
                Losses.causalLmTokens(ids, rows, length));
    }

    @Override
    public int batchSize() {
        return shape.batch();
    }

    @Override
    public int batchesPerEpoch() {
        return perEpoch;
    }

    @Override
    public Batch next() {
        Batch b = batch(ids(rng, shape.batch(), shape.length(), shape.vocab()), shape.batch(), shape.length());
        cursor = cursor.next(perEpoch);
        return b;
    }

    @Override
    public Cursor cursor() {
        return cursor;
    }

    @Override
    public void seek(Cursor c) {
        throw new UnsupportedOperationException("the benchmark never resumes");
    }

    @Override
    public BatchSource at(Cursor c) {
        throw new UnsupportedOperationException("the benchmark never resumes");
    }
}
