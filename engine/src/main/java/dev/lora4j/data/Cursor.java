package dev.lora4j.data;

/**
 * Where a training run is in its data: the next batch is number {@code index} (0-based) of epoch {@code epoch}.
 * Saved with a checkpoint and handed back to {@link Batches#training}, it makes a resumed run see exactly the batches
 * an uninterrupted one would.
 */
public record Cursor(int epoch, int index) {
    public static final Cursor START = new Cursor(0, 0);

    public Cursor {
        if (epoch < 0 || index < 0) {
            throw new IllegalArgumentException("cursor (epoch " + epoch + ", batch " + index + "): both must be 0 or"
                    + " more");
        }
    }

    /** The position after this one, in a plan of {@code batchesPerEpoch} batches per epoch. */
    public Cursor next(int batchesPerEpoch) {
        return index + 1 < batchesPerEpoch ? new Cursor(epoch, index + 1) : new Cursor(epoch + 1, 0);
    }
}
