package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.model.BaseModel;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Gives each trial its data: tokenised once per (file, tokenizer, options) for every trial in the JVM, batched per
 * trial with the trial's own seed and micro-batch size into a bounded prefetch buffer. Opening is blocking and runs
 * on the blocking-IO dispatcher. Supervised with restart: a restart answers every open in flight with a failure.
 */
public final class DataLoader extends AbstractBehavior<DataLoader.Command> {

    /** Only ever told by actors of its own node: the data it opens is an object of this JVM. */
    public sealed interface Command extends LocalOnly {}

    /** Opens {@code spec}'s data with the tokenizer of {@code base}, in micro-batches of {@code batchSize}. */
    public record Open(TrialSpec spec, BaseModel base, int batchSize, ActorRef<Opened> replyTo) implements Command {}

    private record Loaded(long id, TrialData data, Throwable error) implements Command {}

    public sealed interface Opened extends LocalOnly {}

    /** The trial's data; the receiver closes {@code data.train()} if it never hands it to a lane. */
    public record Ready(TrialData data) implements Opened {}

    public record OpenFailed(Failure failure) implements Opened {}

    /** Opens a trial's data (blocking); tests plug in stand-ins. */
    @FunctionalInterface
    public interface Opener {
        TrialData open(TrialSpec spec, BaseModel base, int batchSize);
    }

    /** Batches prepared ahead per trial. */
    static final int PREFETCH = 4;

    private static final AtomicLong IDS = new AtomicLong();

    public static Behavior<Command> create(Opener opener) {
        return Behaviors.setup(ctx -> new DataLoader(ctx, opener));
    }

    /**
     * The engine's data: the model folder's tokenizer (one per folder, shared by every trial of the loader and
     * closed when the loader stops), batches prefetched on the blocking-IO dispatcher.
     */
    public static Opener engine(ActorSystem<?> system) {
        return new EngineOpener(system);
    }

    private static final class EngineOpener implements Opener, AutoCloseable {
        private final ActorSystem<?> system;
        private final Map<Path, Tokenizer> tokenizers = new ConcurrentHashMap<>();

        EngineOpener(ActorSystem<?> system) {
            this.system = system;
        }

        @Override
        public TrialData open(TrialSpec spec, BaseModel base, int batchSize) {
            Path folder = base.folder().orElseThrow(() -> new IllegalStateException(
                    "a sweep's base model comes from a folder"));
            Tokenizer tok = tokenizers.computeIfAbsent(folder.toAbsolutePath().normalize(),
                    f -> Tokenizer.forModel(f, base.config().intOr("pad_token_id", 0)));
            // rows are checked against the model here, before a lane runs them: an id outside the vocabulary would
            // be a device-side assert on a GPU, breaking every trial that shares the device
            TrialData d = TrainingData.open(spec.data(), spec.task(), tok, base.architecture(), batchSize,
                    spec.training().seed(), TrainingData.Layout.of(spec.training()));
            return d.withTrain(new PrefetchedBatches(d.train(), system, PREFETCH));
        }

        @Override
        public void close() {
            tokenizers.values().forEach(Tokenizer::close);
            tokenizers.clear();
        }
    }

    private final Opener opener;
    private final Executor blocking;
    private final Map<Long, Open> pending = new HashMap<>();

    private DataLoader(ActorContext<Command> ctx, Opener opener) {
        super(ctx);
        this.opener = opener;
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Open.class, m -> {
                    long id = IDS.incrementAndGet();
                    pending.put(id, m);
                    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> opener.open(m.spec(), m.base(),
                            m.batchSize()), blocking), (data, err) -> new Loaded(id, data, err));
                    return this;
                })
                .onMessage(Loaded.class, m -> {
                    Open request = pending.remove(m.id());
                    if (request == null) {
                        if (m.data() != null) {
                            m.data().train().close();
                        }
                    } else if (m.error() != null || m.data() == null) {
                        request.replyTo().tell(new OpenFailed(m.error() != null ? Failure.of(m.error())
                                : new Failure.Internal("the data opener returned nothing")));
                    } else {
                        request.replyTo().tell(new Ready(m.data()));
                    }
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    if (opener instanceof AutoCloseable c) {
                        try {
                            c.close();
                        } catch (Exception e) {
                            getContext().getLog().warn("closing the data opener failed: {}", e.toString());
                        }
                    }
                    return this;
                })
                .onSignal(PreRestart.class, s -> {
                    Failure f = new Failure.Internal("the data loader restarted after a failure");
                    pending.values().forEach(o -> o.replyTo().tell(new OpenFailed(f)));
                    return this;
                })
                .build();
    }
}
