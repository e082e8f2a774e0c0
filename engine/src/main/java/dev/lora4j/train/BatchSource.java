package dev.lora4j.train;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;

/**
 * The training batches of one trial, epoch after epoch, from a position that can be saved and restored so a resumed
 * run sees exactly the batches an uninterrupted run would.
 */
public interface BatchSource extends AutoCloseable {

    /** Rows per micro-batch (the last batch of an epoch may have fewer). */
    int batchSize();

    /** Micro-batches in one epoch. */
    int batchesPerEpoch();

    /** The next micro-batch, moving to the next (reshuffled) epoch after the last one. */
    Batch next();

    /** Where {@link #next} continues: epoch and index within it. */
    Cursor cursor();

    /** Continues from a saved position. */
    void seek(Cursor cursor);

    /** An independent source over the same data starting at {@code cursor} (for another thread to read). */
    BatchSource at(Cursor cursor);

    /** Frees what the source holds (a prefetching thread); the default holds nothing. */
    @Override
    default void close() {}
}
