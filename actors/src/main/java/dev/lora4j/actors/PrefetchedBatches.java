package dev.lora4j.actors;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;
import dev.lora4j.train.BatchSource;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A trial's training batches, padded ahead of time on the blocking-IO dispatcher into a bounded buffer: the trainer
 * never waits for padding, and a slow trainer never lets the buffer grow. The cursor counts batches the trainer
 * took, not batches prepared, so a checkpoint records exactly where training is.
 */
final class PrefetchedBatches implements BatchSource {
    private final BatchSource template;
    private final ActorSystem<?> system;
    private final int buffer;
    private SinkQueueWithCancel<Pair<Batch, Cursor>> queue;
    private Cursor cursor;

    PrefetchedBatches(BatchSource source, ActorSystem<?> system, int buffer) {
        this.template = source;
        this.system = system;
        this.buffer = buffer;
        this.cursor = source.cursor();
        start(cursor);
    }

    /** Each run of the stream owns its own copy of the batch source: a cancelled run may still be finishing a batch. */
    private void start(Cursor from) {
        BatchSource own = template.at(from);
        queue = Source.repeat(own)
                .map(s -> {
                    Batch b = s.next();
                    return Pair.create(b, s.cursor());
                })
                .addAttributes(ActorAttributes.dispatcher("pekko.actor.default-blocking-io-dispatcher"))
                .buffer(buffer, OverflowStrategy.backpressure())
                .runWith(Sink.queue(), system);
    }

    @Override
    public int batchSize() {
        return template.batchSize();
    }

    @Override
    public int batchesPerEpoch() {
        return template.batchesPerEpoch();
    }

    @Override
    public Batch next() {
        try {
            Optional<Pair<Batch, Cursor>> next = queue.pull().toCompletableFuture().join();
            Pair<Batch, Cursor> p = next.orElseThrow(() -> new IllegalStateException("batch stream ended"));
            cursor = p.second();
            return p.first();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    @Override
    public Cursor cursor() {
        return cursor;
    }

    @Override
    public void seek(Cursor c) {
        queue.cancel();
        cursor = c;
        start(c);
    }

    @Override
    public BatchSource at(Cursor c) {
        return new PrefetchedBatches(template.at(c), system, buffer);
    }

    /** Stops preparing batches (the trial ended). */
    @Override
    public void close() {
        queue.cancel();
    }
}
