package dev.lora4j.actors;

import dev.lora4j.data.Tokenizer;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Gives each trial its data: tokenised once per (file, tokenizer, options) for the whole sweep (and every other
 * sweep in the JVM), batched per trial with the trial's own seed and micro-batch size into a bounded prefetch
 * buffer. Tokenisation is blocking and runs on the blocking-IO dispatcher.
 */
public final class DataLoader extends AbstractBehavior<DataLoader.Command> {

    public sealed interface Command {}

    /** Opens {@code spec}'s data with the tokenizer of the model in {@code modelFolder}. */
    public record Open(TrialSpec spec, Path modelFolder, long padId, int batchSize, ActorRef<Opened> replyTo)
            implements Command {}

    private record Loaded(Open request, TrialData data, Throwable error) implements Command {}

    public sealed interface Opened {}

    public record Ready(TrialData data) implements Opened {}

    public record OpenFailed(String reason) implements Opened {}

    /** Rows prepared ahead per trial. */
    static final int PREFETCH = 4;

    public static Behavior<Command> create() {
        return Behaviors.setup(DataLoader::new);
    }

    private final Executor blocking;
    private final Map<Path, Tokenizer> tokenizers = new ConcurrentHashMap<>();

    private DataLoader(ActorContext<Command> ctx) {
        super(ctx);
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Open.class, m -> {
                    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> open(m), blocking),
                            (data, err) -> new Loaded(m, data, err));
                    return this;
                })
                .onMessage(Loaded.class, m -> {
                    m.request().replyTo().tell(m.error() == null ? new Ready(m.data())
                            : new OpenFailed(Failures.describe(m.error())));
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    tokenizers.values().forEach(Tokenizer::close);
                    return this;
                })
                .build();
    }

    private TrialData open(Open m) {
        TrialSpec spec = m.spec();
        Tokenizer tok = tokenizers.computeIfAbsent(m.modelFolder().toAbsolutePath().normalize(),
                f -> Tokenizer.forModel(f, m.padId()));
        TrialData d = TrainingData.open(spec.data(), spec.task(), tok, m.batchSize(), spec.training().seed());
        return new TrialData(new PrefetchedBatches(d.train(), getContext().getSystem(), PREFETCH), d.eval(),
                d.objective());
    }
}
