package dev.lora4j.train;

/**
 * The training micro-batches of one trial, epoch after epoch, from a position that can be saved and restored so a
 * resumed run sees exactly the batches an uninterrupted run would.
 */
public interface BatchSource {

    /** Rows per micro-batch (the last batch of an epoch may have fewer). */
    int batchSize();

    /** Micro-batches in one epoch. */
    int batchesPerEpoch();

    /** The next micro-batch, moving to the next (reshuffled) epoch after the last one. */
    MicroBatch next();

    /** Where {@link #next} continues: epoch and index within it. */
    Cursor cursor();

    /** Continues from a saved position. */
    void seek(Cursor cursor);

    /** A position in the stream of batches. */
    record Cursor(int epoch, int index) {}
}
