package dev.lora4j.bench;

import dev.lora4j.model.Losses;
import dev.lora4j.train.BatchSource;
import dev.lora4j.train.MicroBatch;
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
    private Cursor cursor = new Cursor(0, 0);

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
    static MicroBatch batch(long[] ids, int rows, int length) {
        long[] mask = new long[ids.length];
        Arrays.fill(mask, 1);
        return new MicroBatch(ids, mask, null, ids.clone(), rows, length, Losses.causalLmTokens(ids, rows, length),
                ids.length);
    }

    @Override
    public int batchesPerEpoch() {
        return perEpoch;
    }

    @Override
    public MicroBatch next() {
        MicroBatch b = batch(ids(rng, shape.batch(), shape.length(), shape.vocab()), shape.batch(), shape.length());
        int index = cursor.index() + 1;
        cursor = index == perEpoch ? new Cursor(cursor.epoch() + 1, 0) : new Cursor(cursor.epoch(), index);
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
}
